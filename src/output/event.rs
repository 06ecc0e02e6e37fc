//! The one type every command reports progress with.

use serde::Serialize;

/// Something that happened, for a person (human/plain renderers) or a program (`--json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A step begins, e.g. "Building app".
    Step {
        /// What is being done.
        message: String,
    },
    /// A fact worth telling.
    Info {
        /// The text.
        message: String,
    },
    /// Something the user should look at; the command goes on.
    Warning {
        /// The text, with its fix.
        message: String,
    },
    /// A step finished well.
    Success {
        /// The text.
        message: String,
    },
    /// Detail shown only with `-v`.
    Debug {
        /// The text.
        message: String,
    },
    /// Progress of a long task (upload, push, context streaming).
    Progress {
        /// Identifies the task across updates.
        id: String,
        /// What is progressing.
        message: String,
        /// Units done.
        current: u64,
        /// Units in all, when known.
        total: Option<u64>,
    },
    /// A progress task ended.
    ProgressDone {
        /// The task.
        id: String,
        /// The closing line.
        message: String,
    },
    /// The result of one check (`doctor`).
    Check {
        /// What was checked.
        name: String,
        /// Pass, warn or fail.
        status: CheckStatus,
        /// What was found.
        detail: String,
        /// How to fix it, when it did not pass.
        #[serde(skip_serializing_if = "Option::is_none")]
        fix: Option<String>,
    },
    /// A line of a container's log.
    Log {
        /// The service it came from.
        service: String,
        /// The line, without its newline.
        line: String,
    },
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// Works.
    Pass,
    /// Not set up, but only some commands need it.
    Warn,
    /// Broken: commands will fail.
    Fail,
}

impl Event {
    /// A `Step` event.
    pub fn step(message: impl Into<String>) -> Self {
        Event::Step {
            message: message.into(),
        }
    }

    /// An `Info` event.
    pub fn info(message: impl Into<String>) -> Self {
        Event::Info {
            message: message.into(),
        }
    }

    /// A `Warning` event.
    pub fn warning(message: impl Into<String>) -> Self {
        Event::Warning {
            message: message.into(),
        }
    }

    /// A `Success` event.
    pub fn success(message: impl Into<String>) -> Self {
        Event::Success {
            message: message.into(),
        }
    }

    /// A `Debug` event.
    pub fn debug(message: impl Into<String>) -> Self {
        Event::Debug {
            message: message.into(),
        }
    }

    /// Whether `-q` hides this event.
    pub fn hidden_when_quiet(&self) -> bool {
        !matches!(
            self,
            Event::Log { .. }
                | Event::Check {
                    status: CheckStatus::Fail,
                    ..
                }
        )
    }

    /// Whether only `-v` shows this event.
    pub fn verbose_only(&self) -> bool {
        matches!(self, Event::Debug { .. })
    }
}
