//! Faults a test can ask for: throttling, 5xx answers, a failing or slow next deploy. Checked
//! by the server before an API call runs and by the deploy before it starts.

use std::time::{Duration, Instant};

/// The knobs. Change them with `EbSim::knobs(|k| …)` or the admin endpoint.
#[derive(Debug, Default, Clone)]
pub struct Knobs {
    /// Throttle every call over this rate (a token bucket of `throttle_burst` calls).
    pub throttle_per_second: Option<f64>,
    /// The bucket size for `throttle_per_second` (at least 1).
    pub throttle_burst: u32,
    /// Throttle exactly the next N calls, whatever the rate.
    pub throttle_next: u32,
    /// Answer the next N calls with `fail_status` (500 by default).
    pub fail_next_calls: u32,
    /// The status for `fail_next_calls`: 500 (`InternalFailure`) or 503 (`ServiceUnavailable`).
    pub fail_status: u16,
    /// Make the next deploy fail at the instance-command stage.
    pub fail_next_deploy: bool,
    /// Extra time every deploy takes.
    pub deploy_delay: Option<Duration>,
    tokens: f64,
    refilled: Option<Instant>,
}

/// What the server should do with a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Run it.
    Serve,
    /// Answer `Throttling`.
    Throttle,
    /// Answer this 5xx status.
    Fail(u16),
}

impl Knobs {
    /// Decide for one incoming call, consuming a token or a counted fault.
    pub fn admit(&mut self) -> Verdict {
        if self.fail_next_calls > 0 {
            self.fail_next_calls -= 1;
            return Verdict::Fail(if self.fail_status == 503 { 503 } else { 500 });
        }
        if self.throttle_next > 0 {
            self.throttle_next -= 1;
            return Verdict::Throttle;
        }
        let Some(rate) = self.throttle_per_second.filter(|r| *r > 0.0) else {
            return Verdict::Serve;
        };
        let burst = f64::from(self.throttle_burst.max(1));
        let now = Instant::now();
        self.tokens = match self.refilled {
            None => burst,
            Some(then) => (self.tokens + now.duration_since(then).as_secs_f64() * rate).min(burst),
        };
        self.refilled = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Verdict::Serve
        } else {
            Verdict::Throttle
        }
    }

    /// Take the "fail the next deploy" flag.
    pub fn take_fail_next_deploy(&mut self) -> bool {
        std::mem::take(&mut self.fail_next_deploy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_faults_come_first_then_the_rate() {
        let mut k = Knobs {
            fail_next_calls: 1,
            throttle_next: 1,
            throttle_per_second: Some(0.001),
            throttle_burst: 1,
            ..Knobs::default()
        };
        assert_eq!(k.admit(), Verdict::Fail(500));
        assert_eq!(k.admit(), Verdict::Throttle);
        assert_eq!(k.admit(), Verdict::Serve);
        assert_eq!(k.admit(), Verdict::Throttle);
    }
}
