//! Following an Elastic Beanstalk update: print its events as they come, judge the outcome
//! from events and environment state ([`crate::aws::follow`]), stop at the deadline or at
//! Ctrl-C (the update itself goes on either way), fetch the tail logs when it failed.

use std::time::{Duration, Instant, SystemTime};

use super::EbTarget;
use crate::aws::AwsError;
use crate::aws::environment::{self, EnvState, Update};
use crate::aws::events::{EbEvent, EventPoller};
use crate::aws::follow::{Follower, Goal, Verdict};
use crate::aws::logs;
use crate::exit::{CommandError, ExitStatus};
use crate::hint;
use crate::interrupt::SelfHandled;
use crate::output::Event;

/// Where progress goes.
type Emit<'a> = &'a (dyn Fn(Event) + Sync);

/// How a followed update ended, as far as we watched.
#[derive(Debug)]
pub enum Ending {
    /// Ready on the requested version with acceptable health; when the closing event happened.
    Succeeded(EnvState, Option<i64>),
    /// Finished badly.
    Failed {
        /// Why.
        reason: String,
    },
    /// The deadline passed first.
    TimedOut(Option<EnvState>),
    /// Ctrl-C.
    Interrupted,
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// One EB event the way the EB CLI prints it: time, severity, message.
pub fn event_line(event: &EbEvent) -> Event {
    Event::info(event.line())
}

/// Wait for `ms` or Ctrl-C; true when interrupted.
async fn pause(duration: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(duration) => false,
        _ = tokio::signal::ctrl_c() => true,
    }
}

/// An update that was sent.
pub struct Sent {
    /// Its request id (the events of the operation carry it).
    pub request_id: Option<String>,
    /// When it was sent (ms since the epoch).
    pub at_ms: i64,
}

/// `UpdateEnvironment` with `change`, then follow it to its end (its version, if it names one,
/// must be what the environment runs afterwards).
pub async fn update_and_follow(
    scope: &EbTarget,
    change: &Update,
    deadline: Instant,
    emit: Emit<'_>,
) -> anyhow::Result<(Ending, Sent)> {
    let at_ms = now_ms();
    let request_id = environment::update(&scope.clients.eb, &scope.eb_environment, change).await?;
    let goal = Goal {
        version_label: change.version_label.clone(),
        request_id: request_id.clone(),
        accept_yellow: scope.accept_yellow,
    };
    // A second of slack for clocks: events are stamped by Elastic Beanstalk.
    let ending = follow(scope, goal, at_ms - 1_000, deadline, emit).await?;
    Ok((ending, Sent { request_id, at_ms }))
}

/// Follow the update towards `goal`, printing events of the environment from `since_ms`.
pub async fn follow(
    scope: &EbTarget,
    goal: Goal,
    since_ms: i64,
    deadline: Instant,
    emit: Emit<'_>,
) -> anyhow::Result<Ending> {
    let _own_ctrl_c = SelfHandled::enter();
    let eb = &scope.clients.eb;
    let mut poller = EventPoller::new(&scope.application, &scope.eb_environment, since_ms);
    let ours = goal.request_id.clone();
    // Events of other requests (an earlier operation's tail, a log request) are not this update's.
    let foreign = |event: &EbEvent| matches!((&ours, &event.request_id), (Some(ours), Some(theirs)) if ours != theirs);
    let mut follower = Follower::new(goal);
    // At most one call a second per API, slower later and when throttled (`aws::pace`).
    let mut pacer = crate::aws::pace::Pacer::new();
    let mut last_shown: Option<(String, String)> = None;
    loop {
        let polled = tokio::select! {
            events = poller.poll(eb) => events?,
            _ = tokio::signal::ctrl_c() => return Ok(Ending::Interrupted),
        };
        for event in polled.iter().filter(|e| !foreign(e)) {
            emit(event_line(event));
            follower.on_event(event);
        }
        let state = tokio::select! {
            state = environment::require(eb, &scope.application, &scope.eb_environment) => state?,
            _ = tokio::signal::ctrl_c() => return Ok(Ending::Interrupted),
        };
        let shown = (state.status.clone(), state.health.clone());
        if last_shown.as_ref() != Some(&shown) {
            emit(Event::debug(format!(
                "{} is {} (health {}, version {})",
                state.name,
                state.status,
                state.health,
                state.version_label.as_deref().unwrap_or("none")
            )));
            last_shown = Some(shown);
        }
        match follower.on_state(&state) {
            Verdict::Pending => {}
            verdict => {
                // The closing events often land with the state change: show them too.
                if let Ok(trailing) = poller.poll(eb).await {
                    for event in trailing.iter().filter(|e| !foreign(e)) {
                        emit(event_line(event));
                        follower.on_event(event);
                    }
                }
                return Ok(match verdict {
                    Verdict::Succeeded => Ending::Succeeded(state, follower.closed_at_ms()),
                    Verdict::Failed(reason) => Ending::Failed { reason },
                    Verdict::Pending => Ending::TimedOut(Some(state)),
                });
            }
        }
        let wait = pacer.pause();
        if Instant::now() + wait > deadline {
            return Ok(Ending::TimedOut(Some(state)));
        }
        if pause(wait).await {
            return Ok(Ending::Interrupted);
        }
    }
}

/// Wait (bounded) for an environment that is busy with another operation.
pub async fn wait_until_ready(
    scope: &EbTarget,
    env: EnvState,
    deadline: Instant,
    emit: Emit<'_>,
) -> anyhow::Result<EnvState> {
    if env.is_ready() {
        return Ok(env);
    }
    emit(Event::info(format!(
        "{} is {}: waiting for it to be Ready",
        env.name, env.status
    )));
    let state = environment::wait_ready(
        &scope.clients.eb,
        &scope.application,
        &scope.eb_environment,
        deadline,
        std::time::Duration::from_secs(2),
        &mut |state| {
            emit(Event::debug(format!(
                "{} is still {}",
                state.name, state.status
            )));
        },
    )
    .await
    .map_err(|err| match err {
        AwsError::Busy { message } => AwsError::Busy {
            message: format!(
                "{message}. Try again later, or abort the operation with `{}`",
                hint::command(&["deploy", &scope.env_name, "--abort"])
            ),
        },
        other => other,
    })?;
    Ok(state)
}

/// Fetch and print the instances' tail logs (best effort: a failure here is only a warning).
pub async fn print_tail_logs(scope: &EbTarget, emit: Emit<'_>) -> Vec<logs::TailLog> {
    emit(Event::step("Fetching the instances' tail logs"));
    // Within the command's deadline too, when it has one.
    let mut deadline = Instant::now() + Duration::from_secs(30);
    if let Some(command_deadline) = scope.clients.deadline.get() {
        deadline = deadline.min(command_deadline);
    }
    match logs::tail(&scope.clients.eb, &scope.eb_environment, deadline).await {
        Ok(tails) => {
            if tails.is_empty() {
                emit(Event::warning("no tail logs arrived within 30 seconds"));
            }
            for tail in &tails {
                for line in &tail.lines {
                    emit(Event::Log {
                        service: tail.instance.clone(),
                        line: line.clone(),
                    });
                }
            }
            tails
        }
        Err(err) => {
            emit(Event::warning(format!(
                "could not fetch the tail logs: {err}"
            )));
            Vec::new()
        }
    }
}

/// The error for an update we stopped watching (timeout or Ctrl-C): it goes on without us.
pub fn stopped_watching(scope: &EbTarget, ending: &Ending, what: &str) -> CommandError {
    let env = scope.env_name.as_str();
    let hint = format!(
        "the update goes on in Elastic Beanstalk: watch it with `{}`, or abort it with `{}`",
        hint::command(&["status", env, "--remote", "--follow"]),
        hint::command(&["deploy", env, "--abort"])
    );
    match ending {
        Ending::Interrupted => CommandError::new(
            ExitStatus::Interrupted,
            format!("stopped following {what} (Ctrl-C); {hint}"),
        ),
        Ending::TimedOut(state) => CommandError::new(
            ExitStatus::TimedOut,
            format!(
                "timed out following {what}{}; {hint}",
                state
                    .as_ref()
                    .map(|s| format!(" (environment {}, health {})", s.status, s.health))
                    .unwrap_or_default()
            ),
        ),
        Ending::Succeeded(..) | Ending::Failed { .. } => {
            CommandError::new(ExitStatus::Failure, format!("{what} ended"))
        }
    }
}
