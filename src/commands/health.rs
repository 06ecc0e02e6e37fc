//! `stevedore health <env> [--watch]`: the environment's enhanced health and each instance's
//! requests, latency and CPU ([`crate::aws::health`]); `--watch` refreshes at Elastic
//! Beanstalk's own pace until Ctrl-C (exit 0: watching is all it does).

use serde_json::json;

use super::Context;
use crate::aws::{health, pace};
use crate::cli::HealthArgs;
use crate::interrupt::SelfHandled;
use crate::output::{Event, Report};

/// Run `health`.
pub async fn run(ctx: &Context, args: HealthArgs) -> anyhow::Result<Report> {
    let scope = ctx.eb_target(&args.env).await?;
    let eb = &scope.clients.eb;
    let mut latest = health::describe(eb, &scope.eb_environment).await?;
    if args.watch {
        let _own_ctrl_c = SelfHandled::enter();
        loop {
            ctx.printer.emit(Event::info(format!(
                "{}{}",
                latest
                    .refreshed_at
                    .as_deref()
                    .map(|t| format!("[{t}] "))
                    .unwrap_or_default(),
                health::render(&latest).trim_end()
            )));
            tokio::select! {
                _ = tokio::time::sleep(pace::HEALTH_REFRESH) => {}
                _ = tokio::signal::ctrl_c() => break,
            }
            latest = tokio::select! {
                refreshed = health::describe(eb, &scope.eb_environment) => refreshed?,
                _ = tokio::signal::ctrl_c() => break,
            };
        }
        return Ok(Report::ok(
            json!({"environment": scope.env_name, "health": latest}),
            String::new(),
        ));
    }
    let text = health::render(&latest);
    Ok(Report::ok(
        json!({"environment": scope.env_name, "health": latest}),
        text.trim_end().to_owned(),
    ))
}
