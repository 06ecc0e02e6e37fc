//! `stevedore terminate <env>`: terminate the environment's Elastic Beanstalk environment and
//! its resources. On a terminal the user types the EB environment's name to confirm; elsewhere
//! (CI) `--yes` is required — a terminate is never assumed.

use std::io::{BufRead, IsTerminal};
use std::time::Instant;

use serde_json::json;

use super::Context;
use crate::aws::environment;
use crate::aws::provision;
use crate::cli::EnvArgs;
use crate::eb::EbTarget;
use crate::eb::operation::{self, Sent, Until};
use crate::exit::{CommandError, ExitStatus};
use crate::output::{Event, Report};

/// Run `terminate`.
pub async fn run(ctx: &Context, args: EnvArgs) -> anyhow::Result<Report> {
    let started = Instant::now();
    let scope = ctx.eb_target(&args.env).await?;
    let deadline = started + scope.timeout(None)?;
    let eb = &scope.clients.eb;
    let state = environment::require(eb, &scope.application, &scope.eb_environment).await?;
    if !ctx.global.yes {
        confirm(ctx, &scope, &state)?;
    }
    ctx.printer.emit(Event::step(format!(
        "Terminating {} ({}, running {})",
        state.name,
        scope.application,
        state.version_label.as_deref().unwrap_or("no version")
    )));
    let what = format!("the termination of {}", scope.eb_environment);
    let emit = |e| ctx.printer.emit(e);
    let no_wait = ctx.global.no_wait;
    let root = ctx.settings(Some(&args.env))?.project.root.clone();
    let work = async {
        let since_ms = operation::events_start_ms();
        let request_id = provision::terminate(eb, &scope.eb_environment).await?;
        let sent = Sent::of(request_id.clone(), since_ms);
        scope
            .settle(&sent, Until::Terminated, &what, no_wait, deadline, &emit)
            .await?;
        Ok(request_id)
    };
    let request_id = scope
        .locked("terminate", &root, !no_wait, deadline, &emit, work)
        .await?;
    let data = json!({
        "environment": args.env,
        "eb_environment": scope.eb_environment,
        "request_id": request_id,
        "waited": !no_wait,
    });
    let done = if no_wait { "Terminating" } else { "Terminated" };
    Ok(Report::ok(data, format!("{done} {}", scope.eb_environment)))
}

/// Ask for the environment's name on a terminal; refuse without `--yes` elsewhere.
fn confirm(ctx: &Context, scope: &EbTarget, state: &environment::EnvState) -> anyhow::Result<()> {
    let name = &scope.eb_environment;
    if !std::io::stdin().is_terminal() {
        return Err(CommandError::new(
            ExitStatus::Usage,
            format!(
                "terminating {name} deletes it and its resources; without a terminal to confirm \
                 on, pass --yes: `{}`",
                crate::hint::command(&["terminate", &scope.env_name, "--yes"])
            ),
        )
        .into());
    }
    let question = format!(
        "This terminates {name} ({}, {}, serving {}) and deletes its resources.\nType the \
         environment name to confirm: ",
        scope.application,
        state.status,
        state.cname.as_deref().unwrap_or("-")
    );
    ctx.printer.passthrough("", true, question.as_bytes());
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() != name {
        return Err(CommandError::new(
            ExitStatus::Usage,
            format!("not confirmed (expected `{name}`); nothing was terminated"),
        )
        .into());
    }
    Ok(())
}
