//! Operations that are not deploys (variables, create, terminate, swap, scale, wait) as seen
//! from an [`EbTarget`]: wait for the environment to be Ready before changing it, and follow a
//! change to its end.
//!
//! The follow is the deploy follower's sibling: it prints the operation's events and ends when
//! the environment is Ready again (or gone, for a terminate), on a failure event of the
//! operation, at the deadline, or at Ctrl-C — the operation itself goes on in every case, and
//! `stevedore wait <env>` attaches to it again.

use std::time::{Duration, Instant};

use aws_sdk_elasticbeanstalk::Client;

use super::EbTarget;
use crate::aws::AwsError;
use crate::aws::environment::{self, EnvState};
use crate::aws::events::{EbEvent, EventPoller};
use crate::aws::follow::terminal_outcome;
use crate::exit::{CommandError, ExitStatus};
use crate::output::Event;

/// Where a wait should end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// Ready (after a create, swap, scale or configuration change).
    Ready,
    /// Gone (after a terminate).
    Terminated,
}

/// How a wait ended.
#[derive(Debug)]
pub enum Waited {
    /// The goal was reached; the state (None: terminated).
    Done(Option<EnvState>),
    /// A failure event of the operation.
    Failed(String),
    /// The deadline came first.
    TimedOut(Option<EnvState>),
    /// Ctrl-C.
    Interrupted,
}

/// Event texts that close the operations waited for here, besides [`terminal_outcome`]'s.
fn closes_successfully(message: &str) -> bool {
    message.starts_with("Completed swapping CNAMEs")
        || message == "terminateEnvironment completed successfully."
}

/// Whether `event` belongs to the operation with `request_id` (all do without one).
fn ours(request_id: Option<&str>, event: &EbEvent) -> bool {
    match (request_id, event.request_id.as_deref()) {
        (Some(ours), Some(theirs)) => ours == theirs,
        _ => true,
    }
}

/// Wait for `name`'s operation (the one `request_id` started, or whatever runs) to end, from
/// `since_ms`; `on_event` hears each of its events. Polls at most once a second per API.
#[allow(clippy::too_many_arguments)]
async fn wait(
    eb: &Client,
    application: &str,
    name: &str,
    request_id: Option<&str>,
    until: Until,
    since_ms: i64,
    deadline: Instant,
    on_event: &mut dyn FnMut(&EbEvent),
) -> Result<Waited, AwsError> {
    let mut poller = EventPoller::new(application, name, since_ms);
    let started = Instant::now();
    let mut closed = false;
    let mut left_ready = request_id.is_none();
    let mut last: Option<EnvState> = None;
    loop {
        let events = tokio::select! {
            events = poller.poll(eb) => events?,
            _ = tokio::signal::ctrl_c() => return Ok(Waited::Interrupted),
        };
        for event in events.iter().filter(|e| ours(request_id, e)) {
            on_event(event);
            match terminal_outcome(&event.message) {
                Some(false) if request_id.is_some() => {
                    return Ok(Waited::Failed(event.message.clone()));
                }
                Some(true) => closed = true,
                _ if closes_successfully(&event.message) => closed = true,
                _ => {}
            }
        }
        let state = tokio::select! {
            state = environment::describe(eb, application, name) => state?,
            _ = tokio::signal::ctrl_c() => return Ok(Waited::Interrupted),
        };
        match (&state, until) {
            (None, Until::Terminated) => return Ok(Waited::Done(None)),
            (None, Until::Ready) => {
                return Ok(Waited::Failed(format!("environment {name} is gone")));
            }
            (Some(s), Until::Ready) if s.is_ready() && (closed || left_ready) => {
                return Ok(Waited::Done(state));
            }
            (Some(s), _) if !s.is_ready() => left_ready = true,
            _ => {}
        }
        last = state.or(last);
        let pause = crate::aws::pace::poll_interval(started.elapsed()).min(Duration::from_secs(5));
        if Instant::now() + pause > deadline {
            return Ok(Waited::TimedOut(last));
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = tokio::signal::ctrl_c() => return Ok(Waited::Interrupted),
        }
    }
}

/// Milliseconds since the epoch, now, less a second of slack for clocks (events are stamped by
/// Elastic Beanstalk): where the events of an operation sent now start.
pub fn events_start_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
        - 1_000
}

impl EbTarget {
    /// Run `work` holding the environment's deploy lock (see [`super::lock`]) for `command`:
    /// one change at a time per environment, across machines; waited for until `deadline`
    /// unless `!wait` (exit 10 at once).
    pub async fn locked<T>(
        &self,
        command: &str,
        root: &std::path::Path,
        wait: bool,
        deadline: Instant,
        emit: &(dyn Fn(Event) + Sync),
        work: impl std::future::Future<Output = anyhow::Result<T>>,
    ) -> anyhow::Result<T> {
        let what = super::lock::LockFor {
            command,
            version: None,
            commit: None,
            root,
            wait,
            deadline,
        };
        super::lock::with_lock(self, &what, emit, work).await
    }

    /// The environment once it is Ready (waited for until `deadline`; exit 10 after).
    pub async fn ready(
        &self,
        deadline: Instant,
        emit: &(dyn Fn(Event) + Sync),
    ) -> anyhow::Result<EnvState> {
        Ok(environment::wait_ready(
            &self.clients.eb,
            &self.application,
            &self.eb_environment,
            deadline,
            Duration::from_secs(2),
            &mut |s| emit(Event::debug(format!("{} is {}", s.name, s.status))),
        )
        .await?)
    }

    /// After a change was sent: follow it until `until` (the final state; None when it is gone),
    /// or with `no_wait` only say how to attach later (None). `what` names it in messages. A
    /// failure is exit 7, the deadline 8, Ctrl-C 130 — each saying that `stevedore wait <env>`
    /// attaches again.
    pub async fn settle(
        &self,
        sent: &Sent,
        until: Until,
        what: &str,
        no_wait: bool,
        deadline: Instant,
        emit: &(dyn Fn(Event) + Sync),
    ) -> anyhow::Result<Option<EnvState>> {
        let again = crate::hint::command(&["wait", &self.env_name]);
        if no_wait {
            emit(Event::info(format!(
                "{what} goes on in Elastic Beanstalk; `{again}` waits for it"
            )));
            return Ok(None);
        }
        let _own_ctrl_c = crate::interrupt::SelfHandled::enter();
        let waited = wait(
            &self.clients.eb,
            &self.application,
            sent.environment.as_deref().unwrap_or(&self.eb_environment),
            sent.request_id.as_deref(),
            until,
            sent.since_ms,
            deadline,
            &mut |event| emit(Event::info(event.line())),
        )
        .await?;
        let error = |status, text: String| CommandError::new(status, text).into();
        match waited {
            Waited::Done(state) => Ok(state),
            Waited::Failed(reason) => Err(error(
                ExitStatus::DeployFailed,
                format!("{what} failed: {reason}"),
            )),
            Waited::TimedOut(state) => Err(error(
                ExitStatus::TimedOut,
                format!(
                    "timed out waiting for {what}{}; it goes on in Elastic Beanstalk: `{again}` \
                     waits again",
                    state
                        .map(|s| format!(" (environment {}, health {})", s.status, s.health))
                        .unwrap_or_default()
                ),
            )),
            Waited::Interrupted => Err(error(
                ExitStatus::Interrupted,
                format!(
                    "stopped waiting for {what} (Ctrl-C); it goes on in Elastic Beanstalk: \
                     `{again}` waits again"
                ),
            )),
        }
    }
}

/// A change Elastic Beanstalk accepted.
#[derive(Debug, Clone, Default)]
pub struct Sent {
    /// The request id that tags its events (None: follow whatever runs).
    pub request_id: Option<String>,
    /// Where its events start (see [`events_start_ms`]).
    pub since_ms: i64,
    /// The EB environment to watch, when not the target's own.
    pub environment: Option<String>,
}

impl Sent {
    /// The change `request_id` names, its events from `since_ms`, on the target's environment.
    pub fn of(request_id: Option<String>, since_ms: i64) -> Sent {
        Sent {
            request_id,
            since_ms,
            environment: None,
        }
    }
}
