//! `stevedore swap <a> <b>`: exchange two environments' CNAMEs — the blue/green switch. Each
//! side is an environment of this project (its EB environment) or an EB environment name of
//! the same application. Both must be Ready and healthy (Green, or Yellow when `[deploy] health
//! = "Yellow"`) unless `--force`, since each starts serving the other's address; swapping again
//! is the rollback.

use std::time::Instant;

use serde_json::json;

use super::Context;
use crate::aws::environment;
use crate::aws::provision;
use crate::cli::SwapArgs;
use crate::eb::operation::{self, Sent, Until};
use crate::exit::{CommandError, ExitStatus};
use crate::output::{Event, Report};

/// Run `swap`.
pub async fn run(ctx: &Context, args: SwapArgs) -> anyhow::Result<Report> {
    let started = Instant::now();
    let scope = ctx.eb_target(&args.env_a).await?;
    let deadline = started + scope.timeout(args.timeout.as_deref())?;
    let other = if ctx.project()?.environment(&args.env_b).is_ok() {
        ctx.eb_target(&args.env_b).await?.eb_environment
    } else {
        args.env_b.clone()
    };
    let eb = &scope.clients.eb;
    let a = environment::require(eb, &scope.application, &scope.eb_environment).await?;
    let b = environment::require(eb, &scope.application, &other).await?;
    for side in [&a, &b] {
        if !side.is_ready() {
            return Err(CommandError::new(
                ExitStatus::Busy,
                format!(
                    "{} is {}, not Ready; `{}` waits for it",
                    side.name,
                    side.status,
                    crate::hint::command(&["wait", &args.env_a])
                ),
            )
            .into());
        }
        if !scope.healthy(side) && !args.force {
            return Err(CommandError::new(
                ExitStatus::DeployFailed,
                format!(
                    "{} is {} (version {}); it would serve {} after the swap. Fix it first, or \
                     pass --force",
                    side.name,
                    side.health,
                    side.version_label.as_deref().unwrap_or("none"),
                    if side.name == a.name { &b } else { &a }
                        .cname
                        .as_deref()
                        .unwrap_or("the other address")
                ),
            )
            .into());
        }
    }
    ctx.printer.emit(Event::step(format!(
        "Swapping CNAMEs: {} ({}, {}) ⇄ {} ({}, {})",
        a.name,
        a.cname.as_deref().unwrap_or("-"),
        a.version_label.as_deref().unwrap_or("no version"),
        b.name,
        b.cname.as_deref().unwrap_or("-"),
        b.version_label.as_deref().unwrap_or("no version"),
    )));
    let what = format!("the CNAME swap of {} and {}", a.name, b.name);
    let emit = |e| ctx.printer.emit(e);
    let no_wait = ctx.global.no_wait;
    let root = ctx.settings(Some(&args.env_a))?.project.root.clone();
    let work = async {
        let since_ms = operation::events_start_ms();
        let request_id = provision::swap(eb, &a.name, &b.name).await?;
        let sent = Sent {
            request_id: request_id.clone(),
            since_ms,
            environment: Some(a.name.clone()),
        };
        scope
            .settle(&sent, Until::Ready, &what, no_wait, deadline, &emit)
            .await?;
        Ok(request_id)
    };
    let request_id = scope
        .locked("swap", &root, !no_wait, deadline, &emit, work)
        .await?;
    let a_after = environment::require(eb, &scope.application, &a.name).await?;
    let b_after = environment::require(eb, &scope.application, &b.name).await?;
    let line = |s: &environment::EnvState| {
        format!(
            "{} serves {} ({})",
            s.cname.as_deref().unwrap_or("-"),
            s.version_label.as_deref().unwrap_or("no version"),
            s.name
        )
    };
    Ok(Report::ok(
        json!({
            "environment": args.env_a,
            "swapped": [a_after.name, b_after.name],
            "cnames": {
                a_after.name.clone(): a_after.cname,
                b_after.name.clone(): b_after.cname,
            },
            "request_id": request_id,
        }),
        format!(
            "Swapped: {}; {} (swap again to go back)",
            line(&a_after),
            line(&b_after)
        ),
    ))
}
