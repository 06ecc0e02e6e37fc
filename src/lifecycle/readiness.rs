//! Waiting for containers: a `depends_on` condition before a dependent starts, and every
//! service up (and healthy, where it has a health check) before `start` returns. Bounded; a
//! failure shows the container's last log lines and health-check output.

use std::time::{Duration, Instant};

use bollard::Docker;

use crate::engine::{containers, logs};
use crate::exit::{CommandError, ExitStatus};
use crate::hint;
use crate::lifecycle::ready::{self, Goal, Readiness};
use crate::output::Event;

/// How often to look.
const POLL: Duration = Duration::from_millis(200);
/// Log lines shown when a container fails to come up.
const LAST_LINES: u64 = 20;

/// One container to wait for.
#[derive(Debug, Clone)]
pub struct Awaited {
    /// The environment (for the hints in messages).
    pub env: String,
    /// Its service.
    pub service: String,
    /// Its id.
    pub id: String,
    /// What it must reach.
    pub goal: Goal,
}

/// Wait until every container of `awaited` meets its goal, or fail at `deadline`.
pub async fn wait_all(
    docker: &Docker,
    awaited: &[Awaited],
    deadline: Instant,
    timeout: Duration,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<()> {
    let waits = awaited
        .iter()
        .map(|a| wait_one(docker, a, deadline, timeout, emit));
    for result in futures_util::future::join_all(waits).await {
        result?;
    }
    Ok(())
}

/// Wait for one container.
pub async fn wait_one(
    docker: &Docker,
    awaited: &Awaited,
    deadline: Instant,
    timeout: Duration,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<()> {
    loop {
        let state = containers::state(docker, &awaited.id).await?;
        match ready::check(awaited.goal, &state) {
            Readiness::Ready => return Ok(()),
            Readiness::Failed(why) => {
                show_last_lines(docker, awaited, &state, emit).await;
                return Err(CommandError::new(
                    ExitStatus::Engine,
                    format!(
                        "Docker failed to run the container: service `{}` {why}; its last log \
                         lines are above (see them all with `{}`)",
                        awaited.service,
                        hint::command(&["logs", &awaited.env, &awaited.service])
                    ),
                )
                .into());
            }
            Readiness::Waiting if Instant::now() >= deadline => {
                show_last_lines(docker, awaited, &state, emit).await;
                let what = match state.health.as_deref() {
                    Some(health) => format!("is still `{health}`"),
                    None => format!("is still `{}`", state.status),
                };
                return Err(CommandError::new(
                    ExitStatus::TimedOut,
                    format!(
                        "service `{}` {what} after {}s; its last log lines are above. Raise the \
                         limit with --timeout, or look at `{}`",
                        awaited.service,
                        timeout.as_secs(),
                        hint::command(&["logs", &awaited.env, &awaited.service])
                    ),
                )
                .into());
            }
            Readiness::Waiting => tokio::time::sleep(POLL).await,
        }
    }
}

async fn show_last_lines(
    docker: &Docker,
    awaited: &Awaited,
    state: &containers::ContainerState,
    emit: &(dyn Fn(Event) + Sync),
) {
    if let Ok(lines) = logs::last_lines(docker, &awaited.service, &awaited.id, LAST_LINES).await {
        for line in lines {
            emit(Event::Log {
                service: awaited.service.clone(),
                line,
            });
        }
    }
    if let Some(last) = state.health_log.last().filter(|l| !l.is_empty()) {
        emit(Event::warning(format!(
            "{}: last health check said: {last}",
            awaited.service
        )));
    }
}
