//! Commands that are parsed but whose implementation has not landed yet.

use crate::exit::{CommandError, ExitStatus};
use crate::output::Report;

/// Refuse honestly: say the command is not available in this build.
pub fn run(name: &str) -> anyhow::Result<Report> {
    Err(CommandError::new(
        ExitStatus::Failure,
        format!(
            "`stevedore {name}` is not available in this build yet; the README's command \
             reference lists what works today"
        ),
    )
    .into())
}
