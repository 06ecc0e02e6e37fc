//! The deploys of an environment, newest first, each joined with its version's description
//! (commit, image digests, bundle hash, who made it): what `history` shows and what
//! `rollback` picks from.
//!
//! Elastic Beanstalk keeps no deploy log, only events (six weeks of them): every operation ends
//! with one closing event naming the version, which gives one row per deploy and its outcome.

use super::EbTarget;
use crate::aws::description::VersionDescription;
use crate::aws::environment::{self, EnvState};
use crate::aws::events::{EbEvent, EventPoller};
use crate::aws::follow::terminal_outcome;
use crate::aws::versions::{self, VersionInfo};

/// One deploy of the environment.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Deploy {
    /// The version label.
    pub version: String,
    /// `succeeded` or `failed`.
    pub outcome: &'static str,
    /// When it ended (the closing event), `YYYY-MM-DD HH:MM:SS` UTC.
    pub at: String,
    /// When it ended, ms since the epoch.
    pub at_ms: i64,
    /// The closing event's text.
    pub event: String,
    /// Whether the environment runs this version now (marked on its newest row only).
    pub current: bool,
    /// The release commit (12 hex), from the version's description.
    pub commit: Option<String>,
    /// The first image's digest prefix.
    pub digest: Option<String>,
    /// Every image: `service@digest-prefix`.
    pub images: Vec<String>,
    /// The bundle's sha256 prefix.
    pub bundle: Option<String>,
    /// Who created the version.
    pub created_by: Option<String>,
}

/// The environment's deploys, newest first, and its current state.
pub async fn collect(scope: &EbTarget) -> anyhow::Result<(Vec<Deploy>, EnvState)> {
    let eb = &scope.clients.eb;
    let state = environment::require(eb, &scope.application, &scope.eb_environment).await?;
    let versions = versions::list(eb, &scope.application).await?;
    let events = EventPoller::new(&scope.application, &scope.eb_environment, 0)
        .poll(eb)
        .await?;
    Ok((rows(&events, &versions, &state), state))
}

/// Join closing events with versions (pure).
fn rows(events: &[EbEvent], versions: &[VersionInfo], state: &EnvState) -> Vec<Deploy> {
    let mut deploys: Vec<Deploy> = events
        .iter()
        .filter_map(|event| {
            let label = event.version_label.clone()?;
            let succeeded = terminal_outcome(&event.message)?;
            let description = versions
                .iter()
                .find(|v| v.label == label)
                .and_then(|v| v.description.as_deref())
                .and_then(VersionDescription::parse);
            Some(Deploy {
                version: label,
                outcome: if succeeded { "succeeded" } else { "failed" },
                at: event.time_text(),
                at_ms: event.time_ms,
                event: event.message.clone(),
                current: false,
                commit: description.as_ref().map(|d| d.commit.clone()),
                digest: description
                    .as_ref()
                    .and_then(|d| d.images.first())
                    .map(|(_, digest)| digest.clone()),
                images: description
                    .as_ref()
                    .map(|d| d.images.iter().map(|(s, h)| format!("{s}@{h}")).collect())
                    .unwrap_or_default(),
                bundle: description.as_ref().map(|d| d.bundle.clone()),
                created_by: description.map(|d| d.actor),
            })
        })
        .collect();
    deploys.sort_by_key(|d| std::cmp::Reverse(d.at_ms));
    if let Some(current) = &state.version_label
        && let Some(row) = deploys
            .iter_mut()
            .find(|d| &d.version == current && d.outcome == "succeeded")
    {
        row.current = true;
    }
    deploys
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

    #[test]
    fn one_row_per_closing_event_newest_first() {
        let events = vec![
            event(1, "Environment update is starting.", "1.0.0"),
            event(2, "Environment update completed successfully.", "1.0.0"),
            event(3, "Failed to deploy application.", "1.1.0"),
            event(4, "Environment update completed successfully.", "1.0.0"),
        ];
        let versions = vec![VersionInfo {
            label: "1.0.0".into(),
            description: Some("stevedore commit=abc bundle=def by=grace app@0123456789ab".into()),
            ..VersionInfo::default()
        }];
        let state = EnvState {
            version_label: Some("1.0.0".into()),
            ..EnvState::default()
        };
        let rows = rows(&events, &versions, &state);
        let summary: Vec<(&str, &str, bool)> = rows
            .iter()
            .map(|r| (r.version.as_str(), r.outcome, r.current))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("1.0.0", "succeeded", true),
                ("1.1.0", "failed", false),
                ("1.0.0", "succeeded", false)
            ]
        );
        assert_eq!(rows[0].digest.as_deref(), Some("0123456789ab"));
        assert_eq!(rows[0].created_by.as_deref(), Some("grace"));
        assert_eq!(rows[1].commit, None);
    }
}
