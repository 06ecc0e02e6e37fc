//! An environment as Elastic Beanstalk sees it now ([`snapshot`]: status, health, the version
//! and the digests it pinned, recent events), and its events as they come ([`watch_events`],
//! until Ctrl-C: watching changes nothing).

use std::time::Duration;

use super::EbTarget;
use super::follow::{event_line, now_ms};
use crate::aws::description::VersionDescription;
use crate::aws::environment::{self, EnvState};
use crate::aws::events::{self, EbEvent, EventPoller};
use crate::aws::versions::{self, VersionInfo};
use crate::interrupt::SelfHandled;
use crate::output::Event;

/// What `status --remote` shows.
pub struct Snapshot {
    /// The environment.
    pub state: EnvState,
    /// The version it runs.
    pub version: Option<VersionInfo>,
    /// That version's description (commit, digests, bundle, who).
    pub description: Option<VersionDescription>,
    /// The newest events, oldest first.
    pub recent: Vec<EbEvent>,
}

/// The environment now, with its `recent` newest events.
pub async fn snapshot(scope: &EbTarget, recent: i32) -> anyhow::Result<Snapshot> {
    let eb = &scope.clients.eb;
    let state = environment::require(eb, &scope.application, &scope.eb_environment).await?;
    let version = match &state.version_label {
        Some(label) => versions::find(eb, &scope.application, label).await?,
        None => None,
    };
    let description = version
        .as_ref()
        .and_then(|v| v.description.as_deref())
        .and_then(VersionDescription::parse);
    let recent = events::recent(eb, &scope.application, &scope.eb_environment, recent).await?;
    Ok(Snapshot {
        state,
        version,
        description,
        recent,
    })
}

/// Emit the environment's events after `shown` (already on screen) as they come, until
/// Ctrl-C.
pub async fn watch_events(
    scope: &EbTarget,
    shown: &[EbEvent],
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<()> {
    let _own_ctrl_c = SelfHandled::enter();
    let eb = &scope.clients.eb;
    let since = shown.last().map_or_else(now_ms, |e| e.time_ms);
    let mut poller = EventPoller::new(&scope.application, &scope.eb_environment, since);
    poller.mark_seen(shown);
    loop {
        tokio::select! {
            polled = poller.poll(eb) => {
                for event in polled? {
                    emit(event_line(&event));
                }
            }
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}
