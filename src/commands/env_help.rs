//! `stevedore <env> --help`: the commands that take an environment, written for that one.

use clap::CommandFactory;

use crate::cli::Cli;

/// The help text for environment `env`, built from the clap model.
pub fn env_help(env: &str) -> String {
    let cli = Cli::command();
    let mut text = format!(
        "Commands for environment `{env}` (the environment may come before or after the command):\n\n"
    );
    let commands: Vec<_> = cli
        .get_subcommands()
        .filter(|c| crate::argv::ENV_FIRST.contains(&c.get_name()))
        .collect();
    let width = commands
        .iter()
        .map(|c| c.get_name().len())
        .max()
        .unwrap_or(0);
    for command in commands {
        let about = command
            .get_about()
            .map(|a| a.to_string())
            .unwrap_or_default();
        text.push_str(&format!(
            "  stevedore {env} {:width$}  {about}\n",
            command.get_name()
        ));
    }
    text.push_str(&format!(
        "\nSee `stevedore <command> --help` for a command's options, e.g. `stevedore start --help`.\n\
         Example: stevedore {env} start\n"
    ));
    text
}
