//! Commands suggested in messages ("Try: …", "run … first"), written the way this run was
//! invoked, so they can be pasted back: the same program (`cargo run --` while trying the demo
//! from a checkout, `stevedore` otherwise), the same `-C` project directory, and for commands on
//! an environment's containers the same compose project (`-p`) and file (`-f`).

use std::sync::OnceLock;

/// How this run was invoked: recorded once, after parsing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invocation {
    /// `stevedore`, or `cargo run --` when cargo started this binary.
    pub program: String,
    /// `-C DIR` as given.
    pub project_dir: Option<String>,
    /// `-f FILE` as given (lifecycle commands).
    pub compose_file: Option<String>,
    /// `-p NAME` as given (lifecycle commands).
    pub compose_project: Option<String>,
}

static INVOCATION: OnceLock<Invocation> = OnceLock::new();

/// Commands that take `-p`/`-f`: they act on the environment's containers.
const COMPOSE_COMMANDS: [&str; 9] = [
    "start", "stop", "down", "restart", "status", "logs", "run", "shell", "task",
];

impl Invocation {
    /// The program to name: `cargo run --` when `cargo run` started us (cargo sets `CARGO` and
    /// the package name for the programs it runs), else `stevedore`.
    pub fn program_from_env() -> String {
        let by_cargo = std::env::var_os("CARGO").is_some()
            && std::env::var("CARGO_PKG_NAME").is_ok_and(|name| name == "stevedore");
        if by_cargo {
            "cargo run --".to_owned()
        } else {
            "stevedore".to_owned()
        }
    }

    /// The suggested command line for `args` (`["stop", "dev"]`).
    pub fn command(&self, args: &[&str]) -> String {
        let mut words = vec![self.program.clone()];
        if let Some(dir) = &self.project_dir {
            words.extend(["-C".to_owned(), quote(dir)]);
        }
        words.extend(args.iter().map(|a| quote(a)));
        if args.first().is_some_and(|c| COMPOSE_COMMANDS.contains(c)) {
            if let Some(file) = &self.compose_file {
                words.extend(["-f".to_owned(), quote(file)]);
            }
            if let Some(project) = &self.compose_project {
                words.extend(["-p".to_owned(), quote(project)]);
            }
        }
        words.join(" ")
    }
}

/// Record how this run was invoked (first call wins).
pub fn record(invocation: Invocation) {
    let _ = INVOCATION.set(invocation);
}

/// The command line to suggest for `args`, as this run was invoked (`stevedore …` when nothing
/// was recorded).
pub fn command(args: &[&str]) -> String {
    match INVOCATION.get() {
        Some(invocation) => invocation.command(args),
        None => Invocation {
            program: "stevedore".to_owned(),
            ..Invocation::default()
        }
        .command(args),
    }
}

/// Single-quote a word for a POSIX shell when it needs it.
fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@+,%".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_repeat_the_program_directory_and_compose_flags() {
        let plain = Invocation {
            program: "stevedore".into(),
            ..Invocation::default()
        };
        assert_eq!(plain.command(&["stop", "dev"]), "stevedore stop dev");
        let full = Invocation {
            program: "cargo run --".into(),
            project_dir: Some("../my app".into()),
            compose_file: Some("other.yml".into()),
            compose_project: Some("feature-x".into()),
        };
        assert_eq!(
            full.command(&["logs", "dev", "web"]),
            "cargo run -- -C '../my app' logs dev web -f other.yml -p feature-x"
        );
        // Release commands do not take compose flags.
        assert_eq!(
            full.command(&["release", "prod", "1.2.3"]),
            "cargo run -- -C '../my app' release prod 1.2.3"
        );
        assert_eq!(quote("it's"), "'it'\\''s'");
    }
}
