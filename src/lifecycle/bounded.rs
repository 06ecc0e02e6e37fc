//! Keeping a lifecycle command inside its `--timeout` when the Docker Engine stops answering.
//!
//! A stalled Engine (it accepts connections and never answers) used to hang `start --timeout`
//! with a network and a Created container left behind. [`within`] ends the work at the
//! deadline (plus a little grace, so the work's own deadline checks speak first); then
//! [`inventory`] asks the Engine, briefly, what the environment has, so the error names exactly
//! what was left, or says that the Engine cannot tell, and `down` removes it either way.

use std::future::Future;
use std::time::{Duration, Instant};

use bollard::Docker;

use crate::engine::{containers, networks};
use crate::exit::{CommandError, ExitStatus};

/// Time the work gets past its deadline to report its own timeout (readiness checks poll every
/// 200 ms and know better what they waited for).
pub const GRACE: Duration = Duration::from_secs(2);
/// How long the inventory after a timeout may take: the Engine is probably stalled.
pub const INVENTORY_WITHIN: Duration = Duration::from_secs(3);

/// What an environment has on the Engine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Leftovers {
    /// `(name, state)` of each container, e.g. `("demo-app-1", "created")`.
    pub containers: Vec<(String, String)>,
    /// Network names.
    pub networks: Vec<String>,
}

impl Leftovers {
    /// Nothing at all.
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty() && self.networks.is_empty()
    }

    /// `container demo-app-1 (created), network demo_default`, or `nothing`.
    pub fn describe(&self) -> String {
        if self.is_empty() {
            return "nothing".into();
        }
        let mut parts: Vec<String> = self
            .containers
            .iter()
            .map(|(name, state)| format!("container {name} ({state})"))
            .collect();
        parts.extend(self.networks.iter().map(|n| format!("network {n}")));
        parts.join(", ")
    }
}

/// Run `work` until `deadline` (+ [`GRACE`]); `Err(())` when the deadline cut it.
pub async fn within<T>(deadline: Instant, work: impl Future<Output = T>) -> Result<T, ()> {
    tokio::time::timeout_at((deadline + GRACE).into(), work)
        .await
        .map_err(|_| ())
}

/// What carries the project's labels (`selector`), if the Engine answers within
/// [`INVENTORY_WITHIN`]; `None` when it does not.
pub async fn inventory(docker: &Docker, selector: &[(String, String)]) -> Option<Leftovers> {
    let ask = async {
        let found = containers::list(docker, selector).await.ok()?;
        let nets = networks::list(docker, selector).await.ok()?;
        Some(Leftovers {
            containers: found.into_iter().map(|c| (c.name, c.state)).collect(),
            networks: nets,
        })
    };
    tokio::time::timeout(INVENTORY_WITHIN, ask)
        .await
        .ok()
        .flatten()
}

/// The error of a command the deadline stopped: what it was doing, what is left (as far as
/// the Engine says), and the command that removes it.
pub fn timed_out(
    command: &str,
    timeout: Duration,
    host: &str,
    leftovers: Option<&Leftovers>,
    down_hint: &str,
) -> CommandError {
    let left = match leftovers {
        Some(left) if left.is_empty() => "nothing of the environment is left".to_owned(),
        Some(left) => format!("left behind: {}; `{down_hint}` removes it", left.describe()),
        None => format!(
            "the Engine does not answer a listing either, so what is left cannot be told; once it \
             answers, `{down_hint}` removes whatever this run created"
        ),
    };
    CommandError::new(
        ExitStatus::TimedOut,
        format!(
            "{command} stopped at its deadline ({}): the Docker Engine at {host} did not answer \
             in time (it accepts connections but is stalled: restart it, or choose another with \
             --context or DOCKER_HOST); {left}",
            crate::compose::format_duration(timeout)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftovers_are_named_with_their_state() {
        let left = Leftovers {
            containers: vec![("demo-app-1".into(), "created".into())],
            networks: vec!["demo_default".into()],
        };
        assert_eq!(
            left.describe(),
            "container demo-app-1 (created), network demo_default"
        );
        let err = timed_out(
            "start",
            Duration::from_secs(10),
            "tcp://127.0.0.1:1",
            Some(&left),
            "stevedore prod down",
        );
        let text = err.to_string();
        assert!(
            text.contains("start stopped at its deadline (10s)"),
            "{text}"
        );
        assert!(
            text.contains("left behind: container demo-app-1 (created)"),
            "{text}"
        );
        assert!(text.contains("`stevedore prod down` removes it"), "{text}");
        let unknown = timed_out("start", Duration::from_secs(10), "h", None, "x").to_string();
        assert!(unknown.contains("cannot be told"), "{unknown}");
    }

    #[tokio::test]
    async fn within_cuts_work_that_never_ends() {
        let past = Instant::now() - GRACE;
        assert_eq!(within(past, std::future::pending::<()>()).await, Err(()));
        assert_eq!(within(Instant::now(), async { 7 }).await, Ok(7));
    }
}
