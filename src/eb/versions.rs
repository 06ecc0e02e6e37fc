//! An application's versions seen together with its environments: what each version is (commit,
//! digest from its description), which environments run it, which it is the rollback target of;
//! and the pruning plan: which versions nothing runs or falls back to (deleting them, and EB's
//! own lifecycle policy, are [`crate::aws::versions`]' calls).
//!
//! Versions belong to the application, not to one environment, so every environment of the
//! application protects what it runs and what `rollback` would pick for it.

use std::collections::BTreeMap;

use aws_sdk_elasticbeanstalk::Client;

use crate::aws::AwsError;
use crate::aws::description::VersionDescription;
use crate::aws::environment::{self, EnvState};
use crate::aws::events::{EbEvent, EventPoller};
use crate::aws::follow::terminal_outcome;
use crate::aws::versions::{self, VersionInfo};

/// One version, joined with where it runs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VersionRow {
    /// The label.
    pub label: String,
    /// The release commit (12 hex), when stevedore made it.
    pub commit: Option<String>,
    /// The first image's digest prefix.
    pub digest: Option<String>,
    /// When it was created (ms since the epoch).
    pub created_ms: Option<i64>,
    /// Environments that run it now.
    pub running_in: Vec<String>,
    /// Environments whose `rollback` would pick it.
    pub rollback_for: Vec<String>,
    /// The bundle's S3 location, `s3://bucket/key`.
    pub bundle: Option<String>,
}

impl VersionRow {
    /// Something runs it or falls back to it.
    pub fn protected(&self) -> bool {
        !self.running_in.is_empty() || !self.rollback_for.is_empty()
    }
}

/// Everything about an application's versions.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// Newest first.
    pub rows: Vec<VersionRow>,
    /// The application's live environments.
    pub environments: Vec<EnvState>,
}

/// The version `rollback` picks for an environment: the newest that ran successfully there and
/// is not the current one (`events` in any order).
pub fn rollback_target(events: &[EbEvent], current: Option<&str>) -> Option<String> {
    let mut succeeded: Vec<&EbEvent> = events
        .iter()
        .filter(|e| e.version_label.is_some() && terminal_outcome(&e.message) == Some(true))
        .collect();
    succeeded.sort_by_key(|e| std::cmp::Reverse(e.time_ms));
    succeeded
        .into_iter()
        .filter_map(|e| e.version_label.clone())
        .find(|label| Some(label.as_str()) != current)
}

/// Join versions (newest first) with environments and their rollback targets (pure).
pub fn join(
    versions: &[VersionInfo],
    environments: &[EnvState],
    targets: &BTreeMap<String, String>,
) -> Vec<VersionRow> {
    versions
        .iter()
        .map(|v| {
            let description = v.description.as_deref().and_then(VersionDescription::parse);
            VersionRow {
                label: v.label.clone(),
                commit: description.as_ref().map(|d| d.commit.clone()),
                digest: description
                    .as_ref()
                    .and_then(|d| d.images.first())
                    .map(|(_, digest)| digest.clone()),
                created_ms: v.created_ms,
                running_in: environments
                    .iter()
                    .filter(|e| e.version_label.as_deref() == Some(v.label.as_str()))
                    .map(|e| e.name.clone())
                    .collect(),
                rollback_for: targets
                    .iter()
                    .filter(|(_, label)| **label == v.label)
                    .map(|(env, _)| env.clone())
                    .collect(),
                bundle: match (&v.bucket, &v.key) {
                    (Some(bucket), Some(key)) => Some(format!("s3://{bucket}/{key}")),
                    _ => None,
                },
            }
        })
        .collect()
}

/// The application's versions, environments and rollback targets.
pub async fn inventory(eb: &Client, application: &str) -> Result<Inventory, AwsError> {
    let versions = versions::list(eb, application).await?;
    let environments = environment::list(eb, application).await?;
    let mut targets = BTreeMap::new();
    for env in &environments {
        let events = EventPoller::new(application, &env.name, 0).poll(eb).await?;
        if let Some(target) = rollback_target(&events, env.version_label.as_deref()) {
            targets.insert(env.name.clone(), target);
        }
    }
    Ok(Inventory {
        rows: join(&versions, &environments, &targets),
        environments,
    })
}

/// What pruning does with one version.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Verdict {
    /// The label.
    pub label: String,
    /// Whether it goes.
    pub delete: bool,
    /// Why it stays or goes.
    pub reason: String,
}

/// Keep the `keep` newest versions and every protected one; the rest go (rows newest first).
pub fn plan(rows: &[VersionRow], keep: usize) -> Vec<Verdict> {
    rows.iter()
        .enumerate()
        .map(|(index, row)| {
            let (delete, reason) = if !row.running_in.is_empty() {
                (false, format!("runs in {}", row.running_in.join(", ")))
            } else if !row.rollback_for.is_empty() {
                (
                    false,
                    format!("rollback target of {}", row.rollback_for.join(", ")),
                )
            } else if index < keep {
                (false, format!("among the {keep} newest"))
            } else {
                (true, "unused".to_owned())
            };
            Verdict {
                label: row.label.clone(),
                delete,
                reason,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(time_ms: i64, message: &str, label: &str) -> EbEvent {
        EbEvent {
            time_ms,
            severity: "INFO".into(),
            message: message.into(),
            request_id: None,
            version_label: Some(label.into()),
        }
    }

    fn version(label: &str) -> VersionInfo {
        VersionInfo {
            label: label.into(),
            ..VersionInfo::default()
        }
    }

    #[test]
    fn the_rollback_target_is_the_newest_other_success() {
        let ok = "Environment update completed successfully.";
        let events = vec![
            event(1, ok, "1.0.0"),
            event(2, "Failed to deploy application.", "1.2.0"),
            event(3, ok, "1.1.0"),
            event(4, ok, "1.3.0"),
        ];
        assert_eq!(
            rollback_target(&events, Some("1.3.0")).as_deref(),
            Some("1.1.0")
        );
        assert_eq!(rollback_target(&events[..1], Some("1.0.0")), None);
    }

    #[test]
    fn prune_keeps_the_newest_the_running_and_the_rollback_targets() {
        let versions: Vec<VersionInfo> = ["1.4.0", "1.3.0", "1.2.0", "1.1.0", "1.0.0", "0.9.0"]
            .into_iter()
            .map(version)
            .collect();
        let envs = vec![
            EnvState {
                name: "blue".into(),
                version_label: Some("1.1.0".into()),
                ..EnvState::default()
            },
            EnvState {
                name: "green".into(),
                version_label: Some("1.4.0".into()),
                ..EnvState::default()
            },
        ];
        let targets: BTreeMap<String, String> = [("blue".to_owned(), "1.0.0".to_owned())]
            .into_iter()
            .collect();
        let rows = join(&versions, &envs, &targets);
        let verdicts = plan(&rows, 2);
        let deleted: Vec<&str> = verdicts
            .iter()
            .filter(|v| v.delete)
            .map(|v| v.label.as_str())
            .collect();
        assert_eq!(deleted, vec!["1.2.0", "0.9.0"]);
        assert_eq!(verdicts[3].reason, "runs in blue");
        assert_eq!(verdicts[4].reason, "rollback target of blue");
        assert_eq!(verdicts[1].reason, "among the 2 newest");
        assert!(plan(&rows, 0).iter().filter(|v| v.delete).count() == 3);
    }
}
