//! How often stevedore may ask Elastic Beanstalk the same question, and how many times it did.
//!
//! Following a deploy used to call `DescribeApplicationVersions` every 100 ms and
//! `DescribeEvents` every 0.5 s at the start. No EB API is now called more than once a second,
//! after the first 30 s (when a real update settles in for minutes) once every 5 s, and each
//! round that AWS throttled doubles the pause (up to a minute) until a quiet round halves it
//! again. [`RequestMeter`] counts every request the SDK sends, per service, and the throttled
//! answers among them; `-v` prints the count ([`summary_since`]).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_sdk_elasticbeanstalk::config::ConfigBag;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// The shortest pause between two calls of one EB API.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// The pause once a follow has run for [`SETTLE_AFTER`].
pub const SETTLED_INTERVAL: Duration = Duration::from_secs(5);
/// How often `health --watch` asks: Elastic Beanstalk refreshes enhanced health every 10
/// seconds, so asking more often only returns the same answer.
pub const HEALTH_REFRESH: Duration = Duration::from_secs(10);
/// How often `events --follow` and `status --remote --follow` ask for new events.
pub const EVENTS_FOLLOW: Duration = Duration::from_secs(2);
/// When polling slows down.
pub const SETTLE_AFTER: Duration = Duration::from_secs(30);
/// The longest pause throttling can stretch the interval to.
pub const MAX_INTERVAL: Duration = Duration::from_secs(60);

/// The pause before the next poll, `elapsed` into a follow (without throttling).
pub fn poll_interval(elapsed: Duration) -> Duration {
    if elapsed < SETTLE_AFTER {
        MIN_INTERVAL
    } else {
        SETTLED_INTERVAL
    }
}

/// The pauses of one polling loop: [`poll_interval`], doubled for each round in which AWS
/// answered with throttling (as counted by [`RequestMeter`]), halved back after a quiet round.
#[derive(Debug, Clone)]
pub struct Pacer {
    started: Instant,
    factor: u32,
    throttled_seen: u64,
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer::new()
    }
}

impl Pacer {
    /// A loop starting now.
    pub fn new() -> Pacer {
        Pacer {
            started: Instant::now(),
            factor: 1,
            throttled_seen: throttled(),
        }
    }

    /// The pause before the next round.
    pub fn pause(&mut self) -> Duration {
        self.next_at(self.started.elapsed(), throttled())
    }

    /// [`Pacer::pause`] at `elapsed`, with `throttled_total` throttled answers counted so far.
    pub fn next_at(&mut self, elapsed: Duration, throttled_total: u64) -> Duration {
        if throttled_total > self.throttled_seen {
            self.factor = (self.factor * 2).min(64);
        } else if self.factor > 1 {
            self.factor /= 2;
        }
        self.throttled_seen = throttled_total;
        (poll_interval(elapsed) * self.factor).min(MAX_INTERVAL)
    }
}

/// Requests and throttled answers of one service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    /// Requests sent (each retry counts).
    pub requests: u64,
    /// Answers that were throttling errors.
    pub throttled: u64,
}

/// Per service (the SDK's service name, e.g. `elasticbeanstalk`, `s3`), this process.
static COUNTS: Mutex<BTreeMap<String, Count>> = Mutex::new(BTreeMap::new());

fn record(service: &str, change: impl FnOnce(&mut Count)) {
    if let Ok(mut counts) = COUNTS.lock() {
        change(counts.entry(service.to_owned()).or_default());
    }
}

/// Every count so far.
pub fn counts() -> BTreeMap<String, Count> {
    COUNTS.lock().map(|c| c.clone()).unwrap_or_default()
}

/// Throttled answers so far, all services.
pub fn throttled() -> u64 {
    counts().values().map(|c| c.throttled).sum()
}

/// `AWS requests: elasticbeanstalk 12 (3 throttled), s3 2` for the requests since `before`
/// (a [`counts`] snapshot), or `None` when there were none.
pub fn summary_since(before: &BTreeMap<String, Count>) -> Option<String> {
    let parts: Vec<String> = counts()
        .iter()
        .map(|(service, now)| {
            let then = before.get(service).copied().unwrap_or_default();
            let c = Count {
                requests: now.requests.saturating_sub(then.requests),
                throttled: now.throttled.saturating_sub(then.throttled),
            };
            (service, c)
        })
        .filter(|(_, c)| c.requests > 0)
        .map(|(service, c)| match c.throttled {
            0 => format!("{service} {}", c.requests),
            n => format!("{service} {} ({n} throttled)", c.requests),
        })
        .collect();
    if parts.is_empty() {
        return None;
    }
    Some(format!("AWS requests: {}", parts.join(", ")))
}

/// Error codes AWS uses for "slow down" across its protocols.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
    "RequestLimitExceededException",
];

/// Whether an answer with `status` and `body` is a throttling error (the XML `<Code>` of the
/// query protocols, or a JSON `__type`/`code`).
pub fn is_throttling(status: u16, body: &[u8]) -> bool {
    if status == 429 {
        return true;
    }
    if status < 400 {
        return false;
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]);
    THROTTLING_CODES.iter().any(|code| {
        text.contains(&format!("<Code>{code}</Code>"))
            || text.contains(&format!("\"{code}\""))
            || text.contains(&format!("#{code}\""))
    })
}

/// The SDK interceptor that counts requests and throttled answers per service.
#[derive(Debug, Default)]
pub struct RequestMeter;

fn service_of(cfg: &ConfigBag) -> String {
    cfg.load::<Metadata>()
        .map(|m| m.service().to_ascii_lowercase())
        .unwrap_or_else(|| "aws".into())
}

impl Intercept for RequestMeter {
    fn name(&self) -> &'static str {
        "stevedore::aws::pace::RequestMeter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        record(&service_of(cfg), |c| c.requests += 1);
        Ok(())
    }

    // After deserialization the body of a non-streaming answer is in memory.
    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        let status = response.status().as_u16();
        let throttled = status == 429
            || (status >= 400
                && response
                    .body()
                    .bytes()
                    .is_some_and(|b| is_throttling(status, b)));
        if throttled {
            record(&service_of(cfg), |c| c.throttled += 1);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_more_than_once_a_second_and_five_seconds_after_thirty() {
        for secs in 0..600 {
            let pause = poll_interval(Duration::from_secs(secs));
            assert!(pause >= MIN_INTERVAL, "{secs}s");
            if secs >= 30 {
                assert_eq!(pause, SETTLED_INTERVAL, "{secs}s");
            }
        }
        assert_eq!(poll_interval(Duration::ZERO), MIN_INTERVAL);
    }

    #[test]
    fn throttling_doubles_the_pause_and_quiet_rounds_halve_it() {
        let mut pacer = Pacer {
            started: Instant::now(),
            factor: 1,
            throttled_seen: 0,
        };
        let early = Duration::from_secs(2);
        let pauses: Vec<u64> = [0, 1, 3, 4, 4, 4, 4]
            .into_iter()
            .map(|total| pacer.next_at(early, total).as_secs())
            .collect();
        assert_eq!(pauses, [1, 2, 4, 8, 4, 2, 1]);
        // Never past a minute, however long the throttling lasts.
        let late = Duration::from_secs(300);
        for total in 10..30 {
            assert!(pacer.next_at(late, total) <= MAX_INTERVAL);
        }
        // A quiet round halves the factor, still over the cap here.
        assert_eq!(pacer.next_at(late, 29), MAX_INTERVAL);
    }

    #[test]
    fn throttling_answers_are_recognised() {
        let query = b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>\
                      <Message>Rate exceeded</Message></Error></ErrorResponse>";
        assert!(is_throttling(400, query));
        assert!(is_throttling(503, b"<Error><Code>SlowDown</Code></Error>"));
        assert!(is_throttling(429, b""));
        assert!(is_throttling(400, br#"{"__type":"ThrottlingException"}"#));
        assert!(!is_throttling(
            400,
            b"<Error><Code>InvalidParameterValue</Code></Error>"
        ));
        assert!(!is_throttling(200, query));
    }
}
