//! How often stevedore may ask Elastic Beanstalk the same question.
//!
//! Following a deploy used to call `DescribeApplicationVersions` every 100 ms and
//! `DescribeEvents` every 0.5 s at the start. No EB API is now called more than once a second,
//! and after the first 30 s (when a real update settles in for minutes) once every 5 s.

use std::time::Duration;

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

/// The pause before the next poll, `elapsed` into a follow.
pub fn poll_interval(elapsed: Duration) -> Duration {
    if elapsed < SETTLE_AFTER {
        MIN_INTERVAL
    } else {
        SETTLED_INTERVAL
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
}
