//! `stevedore completions <shell>`: generated from the clap model.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::output::Report;

/// Print the completion script for `shell`.
pub fn run(shell: Shell) -> anyhow::Result<Report> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "stevedore", &mut buf);
    let script = String::from_utf8(buf)?;
    Ok(Report::ok(
        serde_json::json!({ "shell": shell.to_string(), "script": script }),
        script,
    ))
}
