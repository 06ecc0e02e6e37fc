//! Multi-call and legacy argument orders, rewritten into the canonical clap form.
//!
//! The original dockdj scripts were three programs with their own orders:
//! `image <env> build`, `stevedore <env> start`, `deploy release <env> <version>`.
//! Stevedore keeps them working: a symlink named `image` or `deploy` reaches the same binary,
//! and the environment may come before the command. This module is pure so it is table-tested.

use std::ffi::{OsStr, OsString};
use std::path::Path;

/// Whether `word` is a subcommand of the canonical `stevedore` surface (or clap's `help`),
/// as the clap model in [`crate::cli`] defines it: one list, so a new command is never
/// mistaken for an environment name.
fn is_command(word: &str) -> bool {
    use clap::CommandFactory;
    word == "help"
        || crate::cli::Cli::command()
            .get_subcommands()
            .any(|c| c.get_name() == word || c.get_all_aliases().any(|a| a == word))
}

/// Commands that may follow an environment name: `stevedore dev start`.
pub const ENV_FIRST: &[&str] = &[
    "start",
    "stop",
    "down",
    "restart",
    "status",
    "env",
    "versions",
    "prune",
    "create",
    "terminate",
    "scale",
    "wait",
    "logs",
    "health",
    "events",
    "shell",
    "run",
    "task",
    "release",
    "publish",
    "bundle",
    "deploy",
    "rollback",
    "history",
    "config",
];

/// `image` actions, for `image dev build`.
const IMAGE_ACTIONS: &[&str] = &["build", "update", "destroy", "ls", "help"];

/// What `bin/deploy` accepted as its first argument, plus the newer deploy-family commands.
const DEPLOY_FAMILY: &[&str] = &[
    "release", "publish", "deploy", "bundle", "rollback", "history",
];

/// Global options that take a value (the value must be skipped when looking for positionals).
const GLOBAL_WITH_VALUE: &[&str] = &[
    "-C",
    "--project-dir",
    "--color",
    "--profile",
    "--region",
    "-c",
    "--context",
];

/// The result of rewriting the process arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// Arguments for clap, starting with the program name `stevedore`.
    Parse(Vec<OsString>),
    /// `stevedore <env> --help`: help scoped to one environment.
    EnvHelp {
        /// The word in environment position.
        env: String,
        /// The arguments clap would have seen, to report an error if `env` is no environment.
        args: Vec<OsString>,
    },
}

/// Rewrite `args` (including argv[0]) into the canonical form.
pub fn rewrite(args: Vec<OsString>) -> Invocation {
    let mut iter = args.into_iter();
    let program = iter.next().unwrap_or_else(|| OsString::from("stevedore"));
    let rest: Vec<OsString> = iter.collect();
    let mut out = vec![OsString::from("stevedore")];
    match program_name(&program).as_str() {
        "image" => {
            out.push("image".into());
            out.extend(swap_env_first(rest, IMAGE_ACTIONS));
            Invocation::Parse(out)
        }
        "deploy" => {
            let first = positionals(&rest).first().map(|&i| rest[i].clone());
            let is_family = first
                .as_deref()
                .and_then(OsStr::to_str)
                .is_some_and(|w| DEPLOY_FAMILY.contains(&w));
            if !is_family {
                out.push("deploy".into());
            }
            out.extend(rest);
            Invocation::Parse(out)
        }
        _ => rewrite_stevedore(out, rest),
    }
}

/// `stevedore …`: put a leading environment after its command, or ask for env-scoped help.
fn rewrite_stevedore(mut out: Vec<OsString>, rest: Vec<OsString>) -> Invocation {
    let pos = positionals(&rest);
    let Some(&first) = pos.first() else {
        out.extend(rest);
        return Invocation::Parse(out);
    };
    let word = rest[first].to_string_lossy().into_owned();
    if word.starts_with('-') || is_command(&word) {
        out.extend(rest);
        return Invocation::Parse(out);
    }
    if let Some(&second) = pos.get(1)
        && rest[second]
            .to_str()
            .is_some_and(|w| ENV_FIRST.contains(&w))
    {
        let mut swapped = rest;
        swapped.swap(first, second);
        out.extend(swapped);
        return Invocation::Parse(out);
    }
    // `stevedore dev check`: an environment, then a word that is no command, is a task (the
    // original's `build:dev`, `check`, `test`); the task command says if there is no such task.
    let help = asks_help(&rest, first);
    if pos.get(1).is_some() && !help {
        out.push("task".into());
        out.extend(rest);
        return Invocation::Parse(out);
    }
    out.extend(rest);
    if help {
        Invocation::EnvHelp {
            env: word,
            args: out,
        }
    } else {
        Invocation::Parse(out)
    }
}

/// Whether `--help`/`-h` follows the positional at `first`.
fn asks_help(rest: &[OsString], first: usize) -> bool {
    rest.iter()
        .skip(first + 1)
        .any(|a| a == "--help" || a == "-h")
}

/// Swap `<env> <action>` into `<action> <env>` when the first positional is not an action.
fn swap_env_first(mut rest: Vec<OsString>, actions: &[&str]) -> Vec<OsString> {
    let pos = positionals(&rest);
    if let (Some(&first), Some(&second)) = (pos.first(), pos.get(1)) {
        let is_action = |i: usize| rest[i].to_str().is_some_and(|w| actions.contains(&w));
        if !is_action(first) && is_action(second) {
            rest.swap(first, second);
        }
    }
    rest
}

/// Indices of positional arguments, skipping global options and their values, up to `--`.
fn positionals(args: &[OsString]) -> Vec<usize> {
    let mut found = Vec::new();
    let mut skip_value = false;
    for (i, arg) in args.iter().enumerate() {
        if skip_value {
            skip_value = false;
            continue;
        }
        let text = arg.to_string_lossy();
        if text == "--" {
            break;
        }
        if text.starts_with('-') && text.len() > 1 {
            // `--color=never` and `-Cdir` carry their value; `--color never` and `-C dir` do not.
            skip_value = GLOBAL_WITH_VALUE.contains(&text.as_ref());
            continue;
        }
        found.push(i);
    }
    found
}

/// The program name without directories or a `.exe` suffix.
fn program_name(program: &OsStr) -> String {
    let name = Path::new(program)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.strip_suffix(".exe").unwrap_or(&name).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_come_from_the_clap_model() {
        for word in ENV_FIRST
            .iter()
            .chain(&["image", "swap", "lock", "doctor", "help"])
        {
            assert!(is_command(word), "{word}");
        }
        for word in ["dev", "prod", "check", "build:dev"] {
            assert!(!is_command(word), "{word}");
        }
    }

    fn words(line: &str) -> Vec<OsString> {
        line.split_whitespace().map(OsString::from).collect()
    }

    fn parsed(line: &str) -> String {
        match rewrite(words(line)) {
            Invocation::Parse(args) => args
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" "),
            Invocation::EnvHelp { env, .. } => format!("ENV-HELP {env}"),
        }
    }

    #[test]
    fn rewrites_every_entry_form() {
        let table = [
            ("stevedore start dev", "stevedore start dev"),
            ("stevedore dev start", "stevedore start dev"),
            ("/usr/bin/stevedore dev logs -f", "stevedore logs dev -f"),
            ("stevedore -C demo dev start", "stevedore -C demo start dev"),
            (
                "stevedore --color never dev stop",
                "stevedore --color never stop dev",
            ),
            (
                "stevedore --color=never dev stop",
                "stevedore --color=never stop dev",
            ),
            (
                "stevedore --json prod status",
                "stevedore --json status prod",
            ),
            (
                "stevedore prod release 1.2.3",
                "stevedore release prod 1.2.3",
            ),
            ("stevedore dev run -- ls -la", "stevedore run dev -- ls -la"),
            ("stevedore dev check", "stevedore task dev check"),
            ("stevedore dev build:dev", "stevedore task dev build:dev"),
            (
                "stevedore -C x dev test -- -k smoke",
                "stevedore task -C x dev test -- -k smoke",
            ),
            ("stevedore dev task check", "stevedore task dev check"),
            ("stevedore dev check --help", "ENV-HELP dev"),
            ("stevedore dev --help", "ENV-HELP dev"),
            ("stevedore dev -h", "ENV-HELP dev"),
            ("stevedore frobnicate", "stevedore frobnicate"),
            ("stevedore", "stevedore"),
            ("stevedore --help", "stevedore --help"),
            ("stevedore help start", "stevedore help start"),
            ("stevedore image build dev", "stevedore image build dev"),
            ("image dev build", "stevedore image build dev"),
            ("/home/u/bin/image dev build", "stevedore image build dev"),
            ("image build dev", "stevedore image build dev"),
            ("image --help", "stevedore image --help"),
            (
                "image prod update --no-cache",
                "stevedore image update prod --no-cache",
            ),
            ("deploy release prod 1.2.3", "stevedore release prod 1.2.3"),
            ("deploy publish prod 1.2.3", "stevedore publish prod 1.2.3"),
            ("deploy deploy prod 1.2.3", "stevedore deploy prod 1.2.3"),
            ("deploy prod 1.2.3", "stevedore deploy prod 1.2.3"),
            ("deploy --help", "stevedore deploy --help"),
            (
                "deploy.exe release prod 1.2.3",
                "stevedore release prod 1.2.3",
            ),
        ];
        let mut failures = Vec::new();
        for (input, want) in table {
            let got = parsed(input);
            if got != want {
                failures.push(format!("{input:?}: got {got:?}, want {want:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn image_program_name_inserts_image_even_without_args() {
        assert_eq!(parsed("image"), "stevedore image");
    }
}
