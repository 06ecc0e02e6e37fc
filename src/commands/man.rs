//! `stevedore man`: the man page, generated from the clap model.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::output::Report;

/// Print the roff man page.
pub fn run() -> anyhow::Result<Report> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut buf)?;
    let page = String::from_utf8(buf)?;
    Ok(Report::ok(serde_json::json!({ "roff": page }), page))
}
