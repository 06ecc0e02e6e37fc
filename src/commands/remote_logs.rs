//! `stevedore logs <env> --remote [--bundle DIR]`: the Elastic Beanstalk instances' logs. The
//! tail (`RequestEnvironmentInfo` → `RetrieveEnvironmentInfo` → one download per instance) is
//! printed with each line prefixed by its instance id; `--bundle` saves every instance's full
//! logs as one zip each. `--follow` follows the environment's CloudWatch log groups when it
//! streams its logs there.

use std::time::{Duration, Instant};

use serde_json::json;

use super::Context;
use crate::aws::{cloudwatch, environment, logs, pace};
use crate::cli::LogsArgs;
use crate::exit::{CommandError, ExitStatus};
use crate::interrupt::SelfHandled;
use crate::output::{Event, Report};

/// How long the instances get to publish their logs (EB usually needs 10-60 s).
const PUBLISH_WAIT: Duration = Duration::from_secs(180);

/// Run `logs --remote`.
pub async fn run(ctx: &Context, args: LogsArgs) -> anyhow::Result<Report> {
    if !args.services.is_empty() {
        return Err(CommandError::new(
            ExitStatus::Usage,
            "--remote shows whole instances' logs: service names apply to local containers",
        )
        .into());
    }
    let scope = ctx.eb_target(&args.env).await?;
    let eb = &scope.clients.eb;
    if args.follow {
        return follow(ctx, &scope).await;
    }
    let deadline = Instant::now() + PUBLISH_WAIT;
    let none_arrived = || {
        CommandError::new(
            ExitStatus::TimedOut,
            format!(
                "{}'s instances published no logs within {} seconds; try again, or look at \
                 `stevedore events {}`",
                scope.eb_environment,
                PUBLISH_WAIT.as_secs(),
                scope.env_name
            ),
        )
    };
    if let Some(dir) = &args.bundle {
        ctx.printer.emit(Event::step(format!(
            "Asking {}'s instances for their full logs",
            scope.eb_environment
        )));
        let saved = logs::bundle(eb, &scope.eb_environment, dir, deadline).await?;
        if saved.is_empty() {
            return Err(none_arrived().into());
        }
        let text: Vec<String> = saved
            .iter()
            .map(|b| format!("{}: {} ({} bytes)", b.instance, b.path.display(), b.bytes))
            .collect();
        return Ok(Report::ok(
            json!({"environment": scope.env_name, "bundles": saved}),
            text.join("\n"),
        ));
    }
    ctx.printer.emit(Event::step(format!(
        "Asking {}'s instances for their tail logs",
        scope.eb_environment
    )));
    let keep = args
        .tail
        .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let tails = logs::tail_lines(eb, &scope.eb_environment, deadline, keep).await?;
    if tails.is_empty() {
        return Err(none_arrived().into());
    }
    for tail in &tails {
        for line in &tail.lines {
            ctx.printer.emit(Event::Log {
                service: tail.instance.clone(),
                line: line.clone(),
            });
        }
    }
    Ok(Report::ok(
        json!({
            "environment": scope.env_name,
            "instances": tails.iter().map(|t| json!({"instance": t.instance, "lines": t.lines.len()})).collect::<Vec<_>>(),
        }),
        String::new(),
    ))
}

/// `logs --remote --follow`: new events of the environment's CloudWatch log groups, prefixed
/// by instance and log, until Ctrl-C (exit 0).
async fn follow(ctx: &Context, scope: &crate::eb::EbTarget) -> anyhow::Result<Report> {
    let eb = &scope.clients.eb;
    let streaming = environment::option(
        eb,
        &scope.application,
        &scope.eb_environment,
        cloudwatch::STREAM_LOGS,
    )
    .await?;
    if !crate::aws::sdk::truthy(streaming.as_deref()) {
        return Err(CommandError::new(
            ExitStatus::InvalidInput,
            format!(
                "{} does not stream its logs to CloudWatch, so there is nothing to follow; turn \
                 it on with option {}/{} = true (an .ebextensions file or the console), or run \
                 `stevedore logs {} --remote` for the instances' tail",
                scope.eb_environment,
                cloudwatch::STREAM_LOGS.0,
                cloudwatch::STREAM_LOGS.1,
                scope.env_name
            ),
        )
        .into());
    }
    let client = cloudwatch::LogsClient::new(&scope.clients)?;
    let prefix = cloudwatch::group_prefix(&scope.eb_environment);
    let groups = client.log_groups(&prefix).await?;
    if groups.is_empty() {
        return Err(CommandError::new(
            ExitStatus::InvalidInput,
            format!("CloudWatch Logs has no log group under {prefix} yet; try again in a minute"),
        )
        .into());
    }
    ctx.printer.emit(Event::step(format!(
        "Following {} log groups of {} (Ctrl-C to stop)",
        groups.len(),
        scope.eb_environment
    )));
    let _own_ctrl_c = SelfHandled::enter();
    // The last five minutes first, then what comes.
    let since = crate::aws::deploy_lock::now_ms() - 5 * 60 * 1000;
    let mut tailer = cloudwatch::Tailer::new(groups.clone(), since);
    let mut lines = 0u64;
    loop {
        tokio::select! {
            polled = tailer.poll(&client) => {
                for event in polled? {
                    lines += 1;
                    ctx.printer.emit(Event::Log {
                        service: format!("{} {}", event.stream, event.log_name()),
                        line: event.message,
                    });
                }
            }
            _ = tokio::signal::ctrl_c() => break,
        }
        tokio::select! {
            _ = tokio::time::sleep(pace::EVENTS_FOLLOW) => {}
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    Ok(Report::ok(
        json!({"environment": scope.env_name, "log_groups": groups, "lines": lines}),
        String::new(),
    ))
}
