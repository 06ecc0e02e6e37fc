//! `stevedore history <env>`: the deploys of an environment, newest first, each joined with its
//! version's description (commit, image digests, bundle hash, who made it).
//!
//! Elastic Beanstalk keeps no deploy log, only events (six weeks of them): every operation ends
//! with one closing event naming the version, which gives one row per deploy and its outcome.

use serde_json::{Value, json};

use super::Context;
use super::eb_scope::{self, EbScope};
use crate::aws::description::VersionDescription;
use crate::aws::environment::{self, EnvState};
use crate::aws::events::{EbEvent, EventPoller};
use crate::aws::follow::terminal_outcome;
use crate::aws::versions::{self, VersionInfo};
use crate::cli::EnvArgs;
use crate::output::Report;

/// One deploy of the environment.
#[derive(Debug, Clone, serde::Serialize)]
pub(super) struct Deploy {
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
pub(super) async fn collect(scope: &EbScope) -> anyhow::Result<(Vec<Deploy>, EnvState)> {
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

/// Run `history`.
pub async fn run(ctx: &Context, args: EnvArgs) -> anyhow::Result<Report> {
    let (project, settings) = eb_scope::settings_of(ctx, &args.env)?;
    let scope = EbScope::connect(ctx, &project, &settings, &args.env).await?;
    let (deploys, state) = collect(&scope).await?;
    let mut text = format!(
        "{} ({}), now {} on {} (health {})\n",
        scope.eb_environment,
        scope.application,
        state.status,
        state.version_label.as_deref().unwrap_or("no version"),
        state.health
    );
    if deploys.is_empty() {
        text.push_str("No deploys in the events Elastic Beanstalk keeps (six weeks).\n");
    } else {
        text.push_str(&format!(
            "{:<14} {:<10} {:<20} {:<13} {:<13} {}\n",
            "VERSION", "OUTCOME", "ENDED (UTC)", "COMMIT", "DIGEST", "BY"
        ));
        for d in &deploys {
            text.push_str(&format!(
                "{:<14} {:<10} {:<20} {:<13} {:<13} {}\n",
                format!("{}{}", d.version, if d.current { " *" } else { "" }),
                d.outcome,
                d.at,
                d.commit.as_deref().unwrap_or("-"),
                d.digest.as_deref().unwrap_or("-"),
                d.created_by.as_deref().unwrap_or("-")
            ));
        }
        text.push_str("* the version running now\n");
    }
    let entries: Vec<Value> = deploys
        .iter()
        .map(|d| serde_json::to_value(d).unwrap_or(Value::Null))
        .collect();
    Ok(Report::ok(
        json!({
            "environment": scope.env_name,
            "application": scope.application,
            "eb_environment": scope.eb_environment,
            "current": state.version_label,
            "status": state.status,
            "health": state.health,
            "entries": entries,
        }),
        text,
    ))
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
