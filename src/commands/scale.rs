//! `stevedore scale <env> N`: run exactly N instances (the Auto Scaling group's MinSize and
//! MaxSize, as `eb scale` sets them), following the configuration update until Ready.

use std::time::Instant;

use serde_json::json;

use super::Context;
use crate::aws::provision;
use crate::cli::ScaleArgs;
use crate::eb::EbTarget;
use crate::eb::operation::{self, Sent, Until};
use crate::output::{Event, Report};

/// Run `scale`.
pub async fn run(ctx: &Context, args: ScaleArgs) -> anyhow::Result<Report> {
    let started = Instant::now();
    let scope = ctx.eb_target(&args.env).await?;
    let deadline = started + scope.timeout(args.timeout.as_deref())?;
    let emit = |e| ctx.printer.emit(e);
    let root = ctx.settings(Some(&args.env))?.project.root.clone();
    let work = change(ctx, &scope, &args, deadline);
    scope
        .locked("scale", &root, !ctx.global.no_wait, deadline, &emit, work)
        .await
}

/// Resize (the deploy lock held) and follow it to the end.
async fn change(
    ctx: &Context,
    scope: &EbTarget,
    args: &ScaleArgs,
    deadline: Instant,
) -> anyhow::Result<Report> {
    let eb = &scope.clients.eb;
    let emit = |e| ctx.printer.emit(e);
    scope.ready(deadline, &emit).await?;
    ctx.printer.emit(Event::step(format!(
        "Scaling {} to {} instance(s)",
        scope.eb_environment, args.instances
    )));
    let since_ms = operation::events_start_ms();
    let request_id = provision::scale(eb, &scope.eb_environment, args.instances).await?;
    let data = json!({
        "environment": args.env,
        "eb_environment": scope.eb_environment,
        "instances": args.instances,
        "request_id": request_id,
        "waited": !ctx.global.no_wait,
    });
    let what = format!("the scaling of {}", scope.eb_environment);
    let sent = Sent::of(request_id, since_ms);
    let state = scope
        .settle(
            &sent,
            Until::Ready,
            &what,
            ctx.global.no_wait,
            deadline,
            &emit,
        )
        .await?;
    let text = match state {
        Some(s) => format!(
            "{} runs {} instance(s) (health {})",
            s.name, args.instances, s.health
        ),
        None => format!("Scaling {} to {}", scope.eb_environment, args.instances),
    };
    Ok(Report::ok(data, text))
}
