//! `stevedore history <env>`: the deploys of an environment, newest first (see
//! [`crate::eb::history`]).

use serde_json::{Value, json};

use super::Context;
use crate::cli::EnvArgs;
use crate::eb::history;
use crate::output::Report;

/// Run `history`.
pub async fn run(ctx: &Context, args: EnvArgs) -> anyhow::Result<Report> {
    let scope = ctx.eb_target(&args.env).await?;
    let (deploys, state) = history::collect(&scope).await?;
    let mut text = format!(
        "{} ({}), now {} on {} (health {})\n",
        scope.eb_environment,
        scope.application,
        state.status,
        state.version_label.as_deref().unwrap_or("no version"),
        state.health
    );
    if deploys.is_empty() {
        text.push_str("No deploys in the events Elastic Beanstalk keeps (six weeks).\n");
    } else {
        text.push_str(&format!(
            "{:<14} {:<10} {:<20} {:<13} {:<13} {}\n",
            "VERSION", "OUTCOME", "ENDED (UTC)", "COMMIT", "DIGEST", "BY"
        ));
        for d in &deploys {
            text.push_str(&format!(
                "{:<14} {:<10} {:<20} {:<13} {:<13} {}\n",
                format!("{}{}", d.version, if d.current { " *" } else { "" }),
                d.outcome,
                d.at,
                d.commit.as_deref().unwrap_or("-"),
                d.digest.as_deref().unwrap_or("-"),
                d.created_by.as_deref().unwrap_or("-")
            ));
        }
        text.push_str("* the version running now\n");
    }
    let entries: Vec<Value> = deploys
        .iter()
        .map(|d| serde_json::to_value(d).unwrap_or(Value::Null))
        .collect();
    Ok(Report::ok(
        json!({
            "environment": scope.env_name,
            "application": scope.application,
            "eb_environment": scope.eb_environment,
            "current": state.version_label,
            "status": state.status,
            "health": state.health,
            "entries": entries,
        }),
        text,
    ))
}
