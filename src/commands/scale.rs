//! `stevedore scale <env> N`: run exactly N instances (the Auto Scaling group's MinSize and
//! MaxSize, as `eb scale` sets them), following the configuration update until Ready.

use std::time::{Duration, Instant};

use serde_json::json;

use super::Context;
use crate::aws::environment;
use crate::aws::provision::{self, Operation, Until};
use crate::cli::ScaleArgs;
use crate::output::{Event, Report};

/// Run `scale`.
pub async fn run(ctx: &Context, args: ScaleArgs) -> anyhow::Result<Report> {
    let started = Instant::now();
    let scope = ctx.eb_target(&args.env).await?;
    let deadline = started + scope.timeout(args.timeout.as_deref())?;
    let eb = &scope.clients.eb;
    environment::wait_ready(
        eb,
        &scope.application,
        &scope.eb_environment,
        deadline,
        Duration::from_secs(2),
        &mut |s| {
            ctx.printer
                .emit(Event::debug(format!("{} is {}", s.name, s.status)))
        },
    )
    .await?;
    ctx.printer.emit(Event::step(format!(
        "Scaling {} to {} instance(s)",
        scope.eb_environment, args.instances
    )));
    let since_ms = provision::events_start_ms();
    let request_id = provision::scale(eb, &scope.eb_environment, args.instances).await?;
    let data = json!({
        "environment": args.env,
        "eb_environment": scope.eb_environment,
        "instances": args.instances,
        "request_id": request_id,
        "waited": !ctx.global.no_wait,
    });
    if ctx.global.no_wait {
        return Ok(Report::ok(
            data,
            format!(
                "Scaling {} (`{}` waits for it)",
                scope.eb_environment,
                crate::hint::command(&["wait", &args.env])
            ),
        ));
    }
    let what = format!("the scaling of {}", scope.eb_environment);
    let printer = ctx.printer.clone();
    let state = provision::follow(
        eb,
        &Operation {
            application: &scope.application,
            environment: &scope.eb_environment,
            env: &args.env,
            request_id: request_id.as_deref(),
            until: Until::Ready,
            since_ms,
            what: &what,
        },
        deadline,
        &|e| printer.emit(e),
    )
    .await?;
    Ok(Report::ok(
        data,
        format!(
            "{} runs {} instance(s) (health {})",
            scope.eb_environment,
            args.instances,
            state.map(|s| s.health).unwrap_or_default()
        ),
    ))
}
