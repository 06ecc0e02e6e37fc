//! Deciding how an environment update ended, from its events *and* the environment's state.
//!
//! The EB CLI decides by matching event texts alone, which let it exit 0 after the first batch
//! of a rolling deploy (aws-elastic-beanstalk-cli#50) and hang forever when no event came. Here
//! an update has succeeded only when the environment is back to `Ready`, runs the requested
//! version and its health is acceptable; it has failed on a terminal failure event of our
//! request, on Red health, or when EB put the previous version back. Pure: the caller polls,
//! this judges.

use super::environment::EnvState;
use super::events::EbEvent;

/// Event texts that end an operation in failure (`_raise_if_error_event` of the EB CLI).
const FAILURE_EVENTS: &[&str] = &[
    "Failed to deploy application.",
    "Failed to deploy configuration.",
    "Failed to launch environment.",
    "Environment health has been set to RED",
    "The environment was reverted to the previous configuration setting.",
];
const FAILURE_PREFIXES: &[&str] = &[
    "Update environment operation is complete, but with errors.",
    "Create environment operation is complete, but with errors",
    "ECS Application sourcebundle validation error:",
];
/// Event texts that end an operation in success.
const SUCCESS_EVENTS: &[&str] = &[
    "Environment update completed successfully.",
    "Successfully deployed new configuration to environment.",
];
/// Someone aborted the operation: it is over, neither a success nor a deploy failure by itself.
const ABORTED_EVENT: &str = "Environment update was aborted.";

/// Whether `message` ends an operation: `Some(true)` in success, `Some(false)` in failure.
pub fn terminal_outcome(message: &str) -> Option<bool> {
    if FAILURE_EVENTS.contains(&message) || FAILURE_PREFIXES.iter().any(|p| message.starts_with(p))
    {
        Some(false)
    } else if SUCCESS_EVENTS.contains(&message)
        || message.starts_with("Successfully launched environment:")
    {
        Some(true)
    } else {
        None
    }
}

/// What the update is supposed to reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Goal {
    /// The version the environment must run.
    pub version_label: Option<String>,
    /// The request id of our `UpdateEnvironment` (events of other operations do not count).
    pub request_id: Option<String>,
    /// Accept Yellow as healthy (`deploy.health = "Yellow"`); otherwise only Green.
    pub accept_yellow: bool,
}

/// The judgement after one poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Not finished.
    Pending,
    /// Ready, on the requested version, healthy.
    Succeeded,
    /// Finished badly; the reason says how.
    Failed(String),
}

/// Follows one update.
#[derive(Debug, Clone)]
pub struct Follower {
    goal: Goal,
    left_ready: bool,
    finished_event: bool,
    closed_at_ms: Option<i64>,
    failure: Option<String>,
    errors: Vec<String>,
}

impl Follower {
    /// Follow an update towards `goal`.
    pub fn new(goal: Goal) -> Follower {
        Follower {
            goal,
            left_ready: false,
            finished_event: false,
            closed_at_ms: None,
            failure: None,
            errors: Vec::new(),
        }
    }

    fn ours(&self, event: &EbEvent) -> bool {
        match (&self.goal.request_id, &event.request_id) {
            (Some(goal), Some(id)) => goal == id,
            // Without request ids, fall back to the version the event names.
            _ => event.version_label.is_none() || event.version_label == self.goal.version_label,
        }
    }

    /// Take in one event.
    pub fn on_event(&mut self, event: &EbEvent) {
        if !self.ours(event) {
            return;
        }
        let message = event.message.as_str();
        if event.is_error() {
            self.errors.push(message.to_owned());
        }
        let closing = terminal_outcome(message).is_some() || message == ABORTED_EVENT;
        if closing {
            self.closed_at_ms.get_or_insert(event.time_ms);
        }
        match terminal_outcome(message) {
            Some(false) => {
                self.finished_event = true;
                self.failure.get_or_insert_with(|| message.to_owned());
            }
            Some(true) => self.finished_event = true,
            None if message == ABORTED_EVENT => self.finished_event = true,
            None => {}
        }
    }

    /// When our operation's closing event happened (ms since the epoch), once seen: how long
    /// Elastic Beanstalk itself took is measured up to there.
    pub fn closed_at_ms(&self) -> Option<i64> {
        self.closed_at_ms
    }

    /// The ERROR events of our request so far.
    pub fn errors(&self) -> &[String] {
        &self.errors
    }

    /// Judge the environment's current state.
    pub fn on_state(&mut self, env: &EnvState) -> Verdict {
        if env.is_terminated() {
            return Verdict::Failed(format!("the environment is {}", env.status));
        }
        if !env.is_ready() {
            self.left_ready = true;
            return Verdict::Pending;
        }
        // Ready before the update visibly started (no state change, no closing event yet) is
        // the old state, not the outcome.
        if !self.left_ready && !self.finished_event {
            return Verdict::Pending;
        }
        if let Some(failure) = &self.failure {
            return Verdict::Failed(failure.clone());
        }
        if let Some(goal) = &self.goal.version_label
            && env.version_label.as_ref() != Some(goal)
        {
            return Verdict::Failed(format!(
                "the environment runs {} instead of {goal}: Elastic Beanstalk kept or restored \
                 the previous version",
                env.version_label.as_deref().unwrap_or("no version")
            ));
        }
        match env.health.as_str() {
            "Green" => Verdict::Succeeded,
            "Yellow" if self.goal.accept_yellow => Verdict::Succeeded,
            "Red" => Verdict::Failed("the environment's health is Red".into()),
            // Grey (checks suspended) or Yellow while Green is required: wait for it to settle.
            _ => Verdict::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(status: &str, health: &str, label: &str) -> EnvState {
        EnvState {
            status: status.into(),
            health: health.into(),
            version_label: Some(label.into()),
            ..EnvState::default()
        }
    }

    fn event(message: &str, severity: &str, request: &str) -> EbEvent {
        EbEvent {
            time_ms: 0,
            severity: severity.into(),
            message: message.into(),
            request_id: Some(request.into()),
            version_label: None,
        }
    }

    fn goal(yellow: bool) -> Goal {
        Goal {
            version_label: Some("1.1.0".into()),
            request_id: Some("req".into()),
            accept_yellow: yellow,
        }
    }

    #[test]
    fn success_needs_ready_the_version_and_health() {
        let mut f = Follower::new(goal(false));
        // Still the old state: Ready on the old version before anything happened.
        assert_eq!(
            f.on_state(&env("Ready", "Green", "1.0.0")),
            Verdict::Pending
        );
        assert_eq!(
            f.on_state(&env("Updating", "Grey", "1.1.0")),
            Verdict::Pending
        );
        assert_eq!(f.on_state(&env("Ready", "Grey", "1.1.0")), Verdict::Pending);
        assert_eq!(
            f.on_state(&env("Ready", "Yellow", "1.1.0")),
            Verdict::Pending
        );
        assert_eq!(
            f.on_state(&env("Ready", "Green", "1.1.0")),
            Verdict::Succeeded
        );
        let mut yellow = Follower::new(goal(true));
        yellow.on_event(&event(
            "Environment update completed successfully.",
            "INFO",
            "req",
        ));
        assert_eq!(
            yellow.on_state(&env("Ready", "Yellow", "1.1.0")),
            Verdict::Succeeded
        );
    }

    #[test]
    fn failures_by_event_health_or_version() {
        let mut f = Follower::new(goal(false));
        f.on_event(&event("Instance deployment failed.", "ERROR", "req"));
        f.on_event(&event("Failed to deploy application.", "ERROR", "other"));
        assert_eq!(
            f.on_state(&env("Updating", "Grey", "1.0.0")),
            Verdict::Pending
        );
        f.on_event(&event("Failed to deploy application.", "ERROR", "req"));
        assert_eq!(
            f.on_state(&env("Ready", "Red", "1.0.0")),
            Verdict::Failed("Failed to deploy application.".into())
        );
        assert_eq!(f.errors().len(), 2);

        let mut f = Follower::new(goal(false));
        f.on_state(&env("Updating", "Grey", "1.0.0"));
        assert!(
            matches!(f.on_state(&env("Ready", "Green", "1.0.0")), Verdict::Failed(r) if r.contains("runs 1.0.0"))
        );

        let mut f = Follower::new(goal(true));
        f.on_state(&env("Updating", "Grey", "1.1.0"));
        assert!(
            matches!(f.on_state(&env("Ready", "Red", "1.1.0")), Verdict::Failed(r) if r.contains("Red"))
        );
        assert!(matches!(
            f.on_state(&env("Terminating", "Grey", "1.1.0")),
            Verdict::Failed(_)
        ));
    }
}
