//! When a container counts as ready: for a `depends_on` condition, and for `start`'s final
//! wait. Pure, over the state the Engine reports.

use crate::compose::Condition;
use crate::engine::containers::ContainerState;

/// What a container must reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// A `depends_on` condition.
    Condition(Condition),
    /// Running, and healthy when it has a health check (`start`'s final wait).
    Up,
}

/// Where a container stands against a goal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// The goal is met.
    Ready,
    /// Not yet; keep polling.
    Waiting,
    /// It will not be met: why.
    Failed(String),
}

/// Check `state` against `goal`.
pub fn check(goal: Goal, state: &ContainerState) -> Readiness {
    let exited = matches!(state.status.as_str(), "exited" | "dead");
    let exit_text = || {
        format!(
            "exited with code {}",
            state
                .exit_code
                .map_or_else(|| "unknown".to_owned(), |c| c.to_string())
        )
    };
    match goal {
        Goal::Condition(Condition::ServiceStarted) => {
            if state.status == "created" {
                Readiness::Waiting
            } else {
                Readiness::Ready
            }
        }
        Goal::Condition(Condition::ServiceCompletedSuccessfully) => match (exited, state.exit_code)
        {
            (true, Some(0)) => Readiness::Ready,
            (true, _) => Readiness::Failed(exit_text()),
            _ => Readiness::Waiting,
        },
        Goal::Condition(Condition::ServiceHealthy) => match state.health.as_deref() {
            _ if exited => Readiness::Failed(exit_text()),
            Some("healthy") => Readiness::Ready,
            Some("unhealthy") => Readiness::Failed("is unhealthy".to_owned()),
            Some(_) => Readiness::Waiting,
            None => Readiness::Failed(
                "has no health check, so `condition: service_healthy` can never be met (add a \
                 `healthcheck:` to it, or use `service_started`)"
                    .to_owned(),
            ),
        },
        Goal::Up => match state.health.as_deref() {
            _ if exited => Readiness::Failed(exit_text()),
            _ if state.status != "running" => Readiness::Waiting,
            None | Some("healthy") => Readiness::Ready,
            Some("unhealthy") => Readiness::Failed("is unhealthy".to_owned()),
            Some(_) => Readiness::Waiting,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(status: &str, health: Option<&str>, code: Option<i64>) -> ContainerState {
        ContainerState {
            status: status.to_owned(),
            health: health.map(str::to_owned),
            exit_code: code,
            started_at: String::new(),
            health_log: Vec::new(),
        }
    }

    #[test]
    fn goals_against_states() {
        use Readiness::*;
        let started = Goal::Condition(Condition::ServiceStarted);
        let healthy = Goal::Condition(Condition::ServiceHealthy);
        let done = Goal::Condition(Condition::ServiceCompletedSuccessfully);
        let table = [
            (started, state("created", None, None), Waiting),
            (started, state("running", None, None), Ready),
            (started, state("exited", None, Some(0)), Ready),
            (healthy, state("running", Some("starting"), None), Waiting),
            (healthy, state("running", Some("healthy"), None), Ready),
            (
                healthy,
                state("running", Some("unhealthy"), None),
                Failed("is unhealthy".into()),
            ),
            (
                healthy,
                state("exited", Some("starting"), Some(3)),
                Failed("exited with code 3".into()),
            ),
            (done, state("running", None, None), Waiting),
            (done, state("exited", None, Some(0)), Ready),
            (
                done,
                state("exited", None, Some(1)),
                Failed("exited with code 1".into()),
            ),
            (Goal::Up, state("running", None, None), Ready),
            (Goal::Up, state("restarting", None, None), Waiting),
            (Goal::Up, state("running", Some("starting"), None), Waiting),
            (Goal::Up, state("running", Some("healthy"), None), Ready),
            (
                Goal::Up,
                state("exited", None, Some(2)),
                Failed("exited with code 2".into()),
            ),
        ];
        for (goal, state, want) in table {
            assert_eq!(check(goal, &state), want, "{goal:?} {state:?}");
        }
        assert!(matches!(
            check(healthy, &state("running", None, None)),
            Failed(why) if why.contains("no health check")
        ));
    }
}
