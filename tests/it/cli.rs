//! The command-line surface: help, the three entry forms, usage errors, completions, man.

use crate::support::Project;

const ALL_COMMANDS: &[&str] = &[
    "image",
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
    "swap",
    "scale",
    "wait",
    "logs",
    "shell",
    "run",
    "release",
    "publish",
    "bundle",
    "deploy",
    "rollback",
    "history",
    "config",
    "doctor",
    "completions",
    "man",
];

#[test]
fn help_lists_every_command_and_the_exit_codes() {
    let out = Project::new().run(["--help"]).success();
    for command in ALL_COMMANDS {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.trim_start().starts_with(command)),
            "--help lacks {command}:\n{}",
            out.stdout
        );
    }
    out.stdout_has("Exit codes:")
        .stdout_has("10 environment busy");
}

#[test]
fn every_command_has_help_with_an_example() {
    let project = Project::new();
    for command in ALL_COMMANDS {
        project
            .run([command, "--help"])
            .success()
            .stdout_has("Example");
    }
    for action in ["build", "update", "destroy", "ls"] {
        project
            .run(["image", action, "--help"])
            .success()
            .stdout_has("Example");
    }
}

#[test]
fn environment_first_help_lists_the_environment_commands() {
    let out = Project::demo().run(["dev", "--help"]).success();
    out.stdout_has("stevedore dev start")
        .stdout_has("stevedore dev logs")
        .stdout_has("stevedore dev deploy");
}

#[test]
fn image_symlink_shows_the_image_surface() {
    Project::new()
        .via_symlink("image")
        .run(["--help"])
        .success()
        .stdout_has("build")
        .stdout_has("destroy")
        .stdout_has("image dev build");
}

#[test]
fn deploy_symlink_shows_the_deploy_surface() {
    Project::new()
        .via_symlink("deploy")
        .run(["--help"])
        .success()
        .stdout_has("deploy deploy prod 1.2.3")
        .stdout_has("--rollback-on-failure");
}

#[test]
fn unknown_command_is_a_usage_error_with_a_hint() {
    let out = Project::new().run(["frobnicate"]).code(2);
    out.stderr_has("frobnicate").stderr_has("--help");
    let out = Project::new().run(["stat"]).code(2);
    out.stderr_has("similar").stderr_has("status");
}

#[test]
fn unknown_word_before_help_is_a_usage_error_inside_a_project() {
    Project::demo()
        .run(["frobnicate", "--help"])
        .code(2)
        .stderr_has("frobnicate");
}

#[test]
fn missing_arguments_and_bad_flags_exit_2() {
    let project = Project::new();
    project
        .run(["release", "prod"])
        .code(2)
        .stderr_has("<VERSION>");
    project.run(["config", "--colour", "never"]).code(2);
    project.run(["--color", "sometimes", "config"]).code(2);
    project.run(Vec::<&str>::new()).code(2).stderr_has("Usage");
}

/// The three entry forms reach the same command. `config <env>` exercises the parse fully
/// (an unknown environment is reported by the command, with exit 3), so it proves the rewrite.
#[test]
fn all_entry_forms_reach_the_same_command() {
    let project = Project::demo();
    let canonical = project.run(["--json", "config", "prod"]).success();
    let env_first = project.run(["--json", "prod", "config"]).success();
    assert_eq!(canonical.stdout, env_first.stdout);
    project
        .run(["start", "nowhere"])
        .code(3)
        .stderr_has("no environment named `nowhere`");
    project
        .run(["nowhere", "start"])
        .code(3)
        .stderr_has("no environment named `nowhere`");
}

#[test]
fn multi_call_names_accept_the_original_argument_orders() {
    let image = Project::demo().via_symlink("image");
    image.run(["dev", "frobnicate"]).code(2).stderr_has("Usage");
    image
        .run(["nowhere", "build"])
        .code(3)
        .stderr_has("no environment named `nowhere`");
    let deploy = Project::demo().via_symlink("deploy");
    deploy
        .run(["release", "nowhere", "1.2.3"])
        .code(3)
        .stderr_has("no environment named `nowhere`");
    deploy
        .run(["deploy", "nowhere", "1.2.3"])
        .code(3)
        .stderr_has("no environment named `nowhere`");
}

#[test]
fn completions_and_man_come_from_the_clap_model() {
    let project = Project::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = project.run(["completions", shell]).success();
        assert!(out.stdout.contains("stevedore"), "{shell}");
        assert!(
            out.stdout.contains("rollback"),
            "{shell} completion lacks rollback"
        );
    }
    project
        .run(["man"])
        .success()
        .stdout_has(".TH stevedore")
        .stdout_has("rollback");
    project.run(["completions", "tcsh"]).code(2);
}

#[test]
fn version_flag() {
    Project::new()
        .run(["--version"])
        .success()
        .stdout_has(env!("CARGO_PKG_VERSION"));
}

#[test]
fn json_errors_end_with_a_summary_carrying_the_exit_code() {
    let out = Project::demo().run(["--json", "config", "nowhere"]).code(3);
    let summary = out.summary();
    assert_eq!(summary["ok"], false);
    assert_eq!(summary["exit_code"], 3);
    assert!(summary["error"].as_str().unwrap_or("").contains("nowhere"));
    // The error prints once on stderr for people, as a chain.
    assert_eq!(out.stderr.matches("error:").count(), 1, "{}", out.stderr);
}

/// A project whose prod `.env` still carries a dockdj tooling key, which warns.
fn legacy_project() -> Project {
    Project::new().file(
        "environments/prod/.env",
        "ENV_DOCKER_HUB_REPO_PATH=acme/demo\n",
    )
}

#[test]
fn plain_output_has_no_escape_codes_and_color_always_has_them() {
    let project = legacy_project();
    let plain = project.run(["config", "prod"]).success();
    assert!(!plain.stderr.contains('\u{1b}') && !plain.stdout.contains('\u{1b}'));
    plain.stderr_has("warning:");
    // `-vv` adds the libraries' log lines (bollard's, asking the Engine), which colour only a
    // terminal; `doctor` may fail here, its logs are what counts.
    let verbose = project.run(["-vv", "doctor"]);
    assert!(
        verbose.stderr.contains("DEBUG") || verbose.stderr.contains("TRACE"),
        "{}",
        verbose.stderr
    );
    assert!(!verbose.stderr.contains('\u{1b}'), "{}", verbose.stderr);
    let colored = project
        .run(["--color", "always", "config", "prod"])
        .success();
    assert!(colored.stderr.contains("\u{1b}["), "{}", colored.stderr);
    let no_color = project
        .env("NO_COLOR", "1")
        .run(["config", "prod"])
        .success();
    assert!(!no_color.stderr.contains('\u{1b}'));
}

#[test]
fn quiet_hides_warnings_but_keeps_data() {
    let project = legacy_project();
    project
        .run(["config", "prod"])
        .success()
        .stderr_has("warning:");
    let out = project.run(["-q", "config", "prod"]).success();
    assert!(!out.stderr.contains("warning:"), "{}", out.stderr);
    out.stdout_has("env.repository");
}

#[test]
fn deploying_an_unreleased_version_says_what_to_run_first() {
    Project::demo()
        .run(["deploy", "prod", "1.0.0"])
        .code(3)
        .stderr_has("`stevedore release prod 1.0.0`");
}

/// Hints repeat how stevedore was run: `cargo run --` from a checkout (cargo names its package
/// in the environment of what it runs) and the `-C` directory.
#[test]
fn hints_name_the_command_as_it_was_run() {
    let project = Project::demo()
        .env("CARGO", "/usr/bin/cargo")
        .env("CARGO_PKG_NAME", "stevedore");
    let elsewhere = project.home();
    project
        .run_in(&elsewhere, ["-C", "../project", "publish", "prod", "1.0.0"])
        .code(3)
        .stderr_has("run `cargo run -- -C ../project release prod 1.0.0` first");
}

/// `--json` prints a final JSON object for every outcome, usage errors included.
#[test]
fn json_usage_errors_end_with_a_summary_object() {
    for args in [
        vec!["--json", "start"],
        vec!["--json", "nosuchcommand"],
        vec!["start", "dev", "--json", "--bogus"],
    ] {
        let out = Project::demo().run(args.clone()).code(2);
        let summary = out.summary();
        assert_eq!(summary["ok"], false, "{args:?}: {summary}");
        assert_eq!(summary["exit_code"], 2, "{args:?}: {summary}");
        assert!(
            summary["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{args:?}: {summary}"
        );
    }
    // Without --json, stdout stays empty.
    let plain = Project::demo().run(["start"]).code(2);
    assert!(plain.stdout.is_empty(), "{}", plain.stdout);
}

/// An empty DOCKER_HOST counts as unset, as with the Docker CLI.
#[test]
fn an_empty_docker_host_means_the_local_socket() {
    if !crate::support::docker::ready() {
        return;
    }
    Project::demo()
        .env("DOCKER_HOST", "")
        .run(["doctor"])
        .success()
        .stderr_has("[pass] docker: Docker Engine")
        .stderr_has("unix:///var/run/docker.sock");
}
