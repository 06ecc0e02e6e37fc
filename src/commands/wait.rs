//! `stevedore wait <env>`: attach to the environment's operation in progress (after
//! `--no-wait`, a Ctrl-C, or another person's change), print its events, and end when the
//! environment is Ready again (or terminated) — 0, or 7/8/130 like the commands it waits for.

use std::time::Instant;

use serde_json::json;

use super::Context;
use crate::aws::environment;
use crate::cli::WaitArgs;
use crate::eb::operation::{self, Sent, Until};
use crate::output::{Event, Report};

/// Run `wait`.
pub async fn run(ctx: &Context, args: WaitArgs) -> anyhow::Result<Report> {
    let started = Instant::now();
    let scope = ctx.eb_target(&args.env).await?;
    let deadline = started + scope.timeout(args.timeout.as_deref())?;
    let eb = &scope.clients.eb;
    let state = environment::require(eb, &scope.application, &scope.eb_environment).await?;
    let report = |state: Option<&environment::EnvState>, text: String| {
        Report::ok(
            json!({"environment": args.env, "eb_environment": scope.eb_environment, "state": state}),
            text,
        )
    };
    if state.is_ready() {
        let text = format!(
            "{} is Ready (health {}, version {}); nothing in progress",
            state.name,
            state.health,
            state.version_label.as_deref().unwrap_or("none")
        );
        return Ok(report(Some(&state), text));
    }
    let until = if state.is_terminated() {
        Until::Terminated
    } else {
        Until::Ready
    };
    ctx.printer.emit(Event::step(format!(
        "Waiting for {} ({}) to be {}",
        state.name,
        state.status,
        if until == Until::Ready {
            "Ready"
        } else {
            "terminated"
        }
    )));
    let what = format!("{}'s operation", scope.eb_environment);
    let emit = |e| ctx.printer.emit(e);
    let sent = Sent {
        since_ms: operation::events_start_ms(),
        ..Sent::default()
    };
    let after = scope
        .settle(&sent, until, &what, false, deadline, &emit)
        .await?;
    let text = match &after {
        Some(s) => format!(
            "{} is Ready (health {}, version {})",
            s.name,
            s.health,
            s.version_label.as_deref().unwrap_or("none")
        ),
        None => format!("{} is terminated", scope.eb_environment),
    };
    Ok(report(after.as_ref(), text))
}
