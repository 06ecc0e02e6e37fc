//! `stevedore versions <env>`: the application's versions, newest first, each with its commit
//! and image digest (from the description stevedore wrote), when it was made, which
//! environments run it and which would roll back to it (see [`crate::aws::prune`]).

use serde_json::json;

use super::Context;
use crate::aws::events::time_text;
use crate::cli::EnvArgs;
use crate::eb::versions;
use crate::output::Report;

/// Run `versions`.
pub async fn run(ctx: &Context, args: EnvArgs) -> anyhow::Result<Report> {
    let scope = ctx.eb_target(&args.env).await?;
    let inventory = versions::inventory(&scope.clients.eb, &scope.application).await?;
    let mut text = format!(
        "Application {} ({} versions)\n",
        scope.application,
        inventory.rows.len()
    );
    if !inventory.rows.is_empty() {
        text.push_str(&format!(
            "{:<14} {:<13} {:<13} {:<20} {}\n",
            "VERSION", "COMMIT", "DIGEST", "CREATED (UTC)", "DEPLOYED"
        ));
    }
    for row in &inventory.rows {
        let mut deployed: Vec<String> = row
            .running_in
            .iter()
            .map(|e| format!("runs in {e}"))
            .collect();
        deployed.extend(row.rollback_for.iter().map(|e| format!("rollback for {e}")));
        text.push_str(&format!(
            "{:<14} {:<13} {:<13} {:<20} {}\n",
            row.label,
            row.commit.as_deref().unwrap_or("-"),
            row.digest.as_deref().unwrap_or("-"),
            row.created_ms.map(time_text).unwrap_or_default(),
            if deployed.is_empty() {
                "-".to_owned()
            } else {
                deployed.join(", ")
            }
        ));
    }
    Ok(Report::ok(
        json!({
            "environment": scope.env_name,
            "application": scope.application,
            "versions": inventory.rows,
        }),
        text,
    ))
}
