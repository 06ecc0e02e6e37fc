//! Every example in every subcommand's `--help` still works: each is taken from the help the
//! binary prints, parsed by the real argument rewriting and clap types into the command whose
//! help shows it, and the ones that need no daemon, registry or AWS are run in the demo project.

use clap::{CommandFactory, Parser};
use stevedore::argv::{self, Invocation};
use stevedore::cli::Cli;

use crate::support::{Project, docker};

/// Every subcommand path (`["image", "build"]`, `["publish"]`, …) clap knows, `help` excluded.
fn subcommand_paths() -> Vec<Vec<String>> {
    fn walk(command: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
        for sub in command.get_subcommands() {
            if sub.get_name() == "help" {
                continue;
            }
            let mut path = prefix.to_vec();
            path.push(sub.get_name().to_owned());
            out.push(path.clone());
            walk(sub, &path, out);
        }
    }
    let mut out = Vec::new();
    walk(&Cli::command(), &[], &mut out);
    out
}

/// The example command lines of a help text: the indented lines after `Example:` /
/// `Examples:`, up to a blank line, without their trailing explanation.
fn examples(help: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut inside = false;
    for line in help.lines() {
        if line.trim_start().starts_with("Example") && line.trim_end().ends_with(':') {
            inside = true;
            continue;
        }
        if !inside {
            continue;
        }
        if line.trim().is_empty() || !line.starts_with("  ") {
            inside = false;
            continue;
        }
        // "  stevedore down dev --volumes        (also remove named volumes)"
        let command = match line.find("   ") {
            Some(gap) if line[gap..].trim_start().starts_with('(') => &line[..gap],
            _ => line,
        };
        found.push(command.trim().to_owned());
    }
    found
}

/// The stevedore invocation of an example shell line: the pipeline stage that runs stevedore
/// (or its `image`/`deploy` symlinks), without redirections, split into words.
fn invocation(line: &str) -> Vec<String> {
    // Leading `NAME=value` words are the shell's variable assignments for the command.
    let command_of = |stage: &str| -> Vec<String> {
        shell_words(stage)
            .into_iter()
            .skip_while(|w| {
                w.split_once('=')
                    .is_some_and(|(k, _)| !k.is_empty() && !k.contains('-'))
            })
            .collect()
    };
    let stage = line
        .split(" | ")
        .find(|s| {
            let words = command_of(s);
            ["stevedore", "image", "deploy"]
                .contains(&words.first().map(String::as_str).unwrap_or_default())
        })
        .unwrap_or_else(|| panic!("no stevedore command in example `{line}`"));
    let stage = stage.split(" > ").next().unwrap_or(stage);
    command_of(stage)
}

/// Split like a POSIX shell for the quoting examples use: '…', "…", and plain words.
fn shell_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.get_or_insert_with(String::new).push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (None, c) => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

#[test]
fn shell_words_split_like_a_shell() {
    assert_eq!(
        shell_words("stevedore run prod app -- sh -c 'exit 7'"),
        [
            "stevedore",
            "run",
            "prod",
            "app",
            "--",
            "sh",
            "-c",
            "exit 7"
        ]
    );
    assert_eq!(
        invocation("echo hi | stevedore run dev -T -- cat"),
        ["stevedore", "run", "dev", "-T", "--", "cat"]
    );
    assert_eq!(
        invocation("stevedore completions zsh > \"${fpath[1]}/_stevedore\""),
        ["stevedore", "completions", "zsh"]
    );
    assert_eq!(
        examples(
            "Examples:\n  stevedore down dev\n  stevedore down dev --volumes        (also remove named volumes)\n\nMore"
        ),
        ["stevedore down dev", "stevedore down dev --volumes"]
    );
}

/// Examples that need nothing but the project (no daemon, registry, git history or AWS).
const OFFLINE: &[&str] = &["config", "completions", "man"];
/// Examples that need only the Docker Engine.
const ENGINE_ONLY: &[&str] = &["image ls", "doctor"];

#[test]
fn every_subcommand_help_has_examples_that_parse_into_that_subcommand() {
    let project = Project::demo().git_init();
    let engine = docker::ready();
    let mut parsed = 0;
    let mut ran = Vec::new();
    for path in subcommand_paths() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let help = project.run(&args).success().stdout;
        let lines = examples(&help);
        assert!(
            !lines.is_empty(),
            "`stevedore {}` has no examples:\n{help}",
            path.join(" ")
        );
        let name = path.join(" ");
        for line in lines {
            let words = invocation(&line);
            let rewritten = match argv::rewrite(words.iter().map(Into::into).collect()) {
                Invocation::Parse(args) => args,
                other => panic!("`{line}` (in `{name} --help`) is not a command: {other:?}"),
            };
            let cli = Cli::try_parse_from(rewritten)
                .unwrap_or_else(|e| panic!("`{line}` (in `{name} --help`) does not parse:\n{e}"));
            let parsed_name = stevedore::commands::name_of(&cli.command);
            // `image --help` shows examples of its actions.
            assert!(
                parsed_name == name || parsed_name.starts_with(&format!("{name} ")),
                "`{line}` is in `{name} --help` but runs `{parsed_name}`"
            );
            parsed += 1;
            let runnable =
                OFFLINE.contains(&parsed_name) || (engine && ENGINE_ONLY.contains(&parsed_name));
            if runnable && words[0] == "stevedore" {
                let out = project.run(&words[1..]);
                assert_eq!(
                    out.code,
                    Some(0),
                    "example `{line}` failed\n--- stdout\n{}\n--- stderr\n{}",
                    out.stdout,
                    out.stderr
                );
                ran.push(line);
            }
        }
    }
    assert!(parsed >= 40, "only {parsed} examples found");
    assert!(ran.len() >= 4, "ran only {ran:?}");
}
