//! Operations that are not deploys (variables, create, terminate, swap, scale, wait) as seen
//! from an [`EbTarget`]: wait for the environment to be Ready before changing it, and follow the
//! change to its end with [`crate::aws::provision::follow`].

use std::time::{Duration, Instant};

use super::EbTarget;
use crate::aws::environment::{self, EnvState};
use crate::aws::provision::{self, Operation, Until};
use crate::output::Event;

impl EbTarget {
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
    /// or with `no_wait` only say how to attach later (None). `what` names it in messages.
    pub async fn settle(
        &self,
        sent: &Sent,
        until: Until,
        what: &str,
        no_wait: bool,
        deadline: Instant,
        emit: &(dyn Fn(Event) + Sync),
    ) -> anyhow::Result<Option<EnvState>> {
        if no_wait {
            emit(Event::info(format!(
                "{what} goes on in Elastic Beanstalk; `{}` waits for it",
                crate::hint::command(&["wait", &self.env_name])
            )));
            return Ok(None);
        }
        let op = Operation {
            application: &self.application,
            environment: sent.environment.as_deref().unwrap_or(&self.eb_environment),
            env: &self.env_name,
            request_id: sent.request_id.as_deref(),
            until,
            since_ms: sent.since_ms,
            what,
        };
        provision::follow(&self.clients.eb, &op, deadline, emit).await
    }
}

/// A change Elastic Beanstalk accepted.
#[derive(Debug, Clone, Default)]
pub struct Sent {
    /// The request id that tags its events (None: follow whatever runs).
    pub request_id: Option<String>,
    /// Where its events start (see [`provision::events_start_ms`]).
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
