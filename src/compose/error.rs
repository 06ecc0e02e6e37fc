//! What can be wrong with a compose file. Every variant names the file and, where the problem
//! is inside the file, the line and the key, so the user can go straight to it.

use std::path::PathBuf;

use crate::exit::{Coded, ExitStatus};
use crate::project::dotenv::DotenvError;

/// Why a compose file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// The compose file could not be read.
    #[error("cannot read compose file {file}: {source}")]
    Read {
        /// The compose file.
        file: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// The text is not valid YAML (or YAML merge keys are misused).
    #[error("{file}:{line}: not valid YAML: {message}; fix the YAML syntax")]
    Syntax {
        /// The compose file.
        file: PathBuf,
        /// 1-based line of the problem (1 when the parser could not tell).
        line: usize,
        /// The parser's message.
        message: String,
    },
    /// A key has the wrong shape or refers to something that does not exist.
    #[error("{file}:{line}: `{key}`: {problem}; expected {expected}")]
    Invalid {
        /// The compose file.
        file: PathBuf,
        /// 1-based line of the key.
        line: usize,
        /// The dotted path of the key, e.g. `services.web.ports[1]`.
        key: String,
        /// What is wrong.
        problem: String,
        /// What would be accepted instead.
        expected: String,
    },
    /// `${VAR:?message}` or `${VAR?message}` with the variable missing.
    #[error(
        "{file}:{line}: `{key}`: required variable `{variable}` is not set: {message}; set it \
         in the environment or in the project's .env"
    )]
    MissingVariable {
        /// The compose file.
        file: PathBuf,
        /// 1-based line of the key whose value holds the reference.
        line: usize,
        /// The dotted path of the key.
        key: String,
        /// The variable's name.
        variable: String,
        /// The message written after `?` in the file.
        message: String,
    },
    /// A file named by `env_file` exists but is not valid dotenv.
    #[error("{file}:{line}: `{key}`: {source}")]
    EnvFile {
        /// The compose file.
        file: PathBuf,
        /// 1-based line of the `env_file` entry.
        line: usize,
        /// The dotted path of the key.
        key: String,
        /// The dotenv error, which names the env file and its line (boxed: it is large and
        /// rare, and every `Result` of this module would carry its size).
        source: Box<DotenvError>,
    },
    /// An enabled service needs a service whose profiles are all off.
    #[error(
        "{file}:{line}: service `{service}` needs `{dependency}`, which is off: its profiles \
         ({}) are not active; expected the profile turned on (`--compose-profile {first}` or \
         COMPOSE_PROFILES={first}), or the dependency removed",
        profiles.join(", "),
        first = profiles.first().map_or("", String::as_str)
    )]
    DisabledDependency {
        /// The compose file.
        file: PathBuf,
        /// 1-based line of the enabled service.
        line: usize,
        /// The enabled service.
        service: String,
        /// The service it needs.
        dependency: String,
        /// The dependency's profiles.
        profiles: Vec<String>,
    },
    /// A project-level `.env` or `--env-file` is not valid dotenv.
    #[error("{source}")]
    Dotenv {
        /// The dotenv error, which names the file and line.
        source: Box<DotenvError>,
    },
    /// Services wait for each other in a circle, so none of them can start first.
    #[error(
        "{file}:{line}: services depend on each other in a cycle: {}; expected `depends_on`, \
         `links` and `volumes_from` to form no cycle (remove one of these dependencies)",
        cycle.join(" -> ")
    )]
    Cycle {
        /// The compose file.
        file: PathBuf,
        /// 1-based line of the first service in the cycle.
        line: usize,
        /// The services in the cycle, the first repeated at the end.
        cycle: Vec<String>,
    },
}

impl Coded for ComposeError {
    fn exit_status(&self) -> ExitStatus {
        ExitStatus::InvalidInput
    }
}
