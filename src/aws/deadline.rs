//! One deadline for every AWS call of a command.
//!
//! `deploy --timeout 30s` used to sit 302 s on an Elastic Beanstalk endpoint that accepted
//! connections and never answered: the SDK has no read timeout by default, and its retries
//! start each attempt afresh. The clients of [`super::sdk::clients`] send through
//! [`BoundedHttpClient`], which cuts any request still unanswered at the command's deadline and
//! fails every later one at once, with an error the retry strategy does not retry. The
//! deadline is shared (an [`Arc`]), so a rollback after a failed deploy lives inside the same
//! budget instead of starting a new one.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// The deadline of the running command, once it has one; shared by clones.
#[derive(Debug, Clone, Default)]
pub struct Deadline(Arc<Mutex<Option<Instant>>>);

impl Deadline {
    /// No deadline yet: calls are bounded only by the SDK's own timeouts.
    pub fn none() -> Deadline {
        Deadline::default()
    }

    /// Bound every later call by `at` (an earlier deadline already set wins: a rollback can
    /// only shorten the budget, never extend it).
    pub fn set(&self, at: Instant) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(slot.map_or(at, |old| old.min(at)));
        }
    }

    /// The deadline, if any.
    pub fn get(&self) -> Option<Instant> {
        self.0.lock().ok().and_then(|slot| *slot)
    }

    /// Time left before the deadline (`None` without one).
    pub fn remaining(&self) -> Option<Duration> {
        self.get()
            .map(|at| at.saturating_duration_since(Instant::now()))
    }
}

/// A request cut, or refused, because the command's deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadlineExceeded;

impl fmt::Display for DeadlineExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the command's deadline (--timeout) passed before AWS answered")
    }
}

impl std::error::Error for DeadlineExceeded {}

/// Whether an error in the chain under `err` is [`DeadlineExceeded`].
pub fn is_deadline(err: &dyn std::error::Error) -> bool {
    let mut next = err.source();
    while let Some(e) = next {
        if e.is::<DeadlineExceeded>() {
            return true;
        }
        next = e.source();
    }
    false
}

/// An [`HttpClient`] whose every request ends by the [`Deadline`].
#[derive(Debug, Clone)]
pub struct BoundedHttpClient {
    inner: SharedHttpClient,
    deadline: Deadline,
}

impl BoundedHttpClient {
    /// Wrap `inner`.
    pub fn new(inner: SharedHttpClient, deadline: Deadline) -> BoundedHttpClient {
        BoundedHttpClient { inner, deadline }
    }
}

impl HttpClient for BoundedHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(BoundedConnector {
            inner: self.inner.http_connector(settings, components),
            deadline: self.deadline.clone(),
        })
    }
}

#[derive(Debug)]
struct BoundedConnector {
    inner: SharedHttpConnector,
    deadline: Deadline,
}

impl HttpConnector for BoundedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let Some(at) = self.deadline.get() else {
            return self.inner.call(request);
        };
        // `other` without an error kind: the standard retry strategy does not retry it.
        let exceeded = || ConnectorError::other(Box::new(DeadlineExceeded), None);
        if Instant::now() >= at {
            return HttpConnectorFuture::ready(Err(exceeded()));
        }
        let call = self.inner.call(request);
        HttpConnectorFuture::new(async move {
            match tokio::time::timeout_at(at.into(), call).await {
                Ok(answer) => answer,
                Err(_) => Err(exceeded()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_earlier_deadline_wins_and_clones_share_it() {
        let deadline = Deadline::none();
        assert_eq!(deadline.get(), None);
        let shared = deadline.clone();
        let now = Instant::now();
        deadline.set(now + Duration::from_secs(30));
        shared.set(now + Duration::from_secs(60));
        assert_eq!(shared.get(), Some(now + Duration::from_secs(30)));
        deadline.set(now + Duration::from_secs(10));
        assert_eq!(shared.get(), Some(now + Duration::from_secs(10)));
    }

    #[test]
    fn the_marker_is_found_in_a_chain() {
        #[derive(Debug)]
        struct Outer(DeadlineExceeded);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("dispatch failure")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        assert!(is_deadline(&Outer(DeadlineExceeded)));
        assert!(
            !is_deadline(&DeadlineExceeded),
            "only the chain under it counts"
        );
        assert!(!is_deadline(&std::io::Error::other("x")));
    }
}
