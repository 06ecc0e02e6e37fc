//! `stevedore logs <env> --remote [--bundle DIR]`: the Elastic Beanstalk instances' logs. The
//! tail (`RequestEnvironmentInfo` → `RetrieveEnvironmentInfo` → one download per instance) is
//! printed with each line prefixed by its instance id; `--bundle` saves every instance's full
//! logs as one zip each.

use std::time::{Duration, Instant};

use serde_json::json;

use super::Context;
use crate::aws::logs;
use crate::cli::LogsArgs;
use crate::exit::{CommandError, ExitStatus};
use crate::output::{Event, Report};

/// How long the instances get to publish their logs (EB usually needs 10-60 s).
const PUBLISH_WAIT: Duration = Duration::from_secs(180);

/// Run `logs --remote`.
pub async fn run(ctx: &Context, args: LogsArgs) -> anyhow::Result<Report> {
    if !args.services.is_empty() || args.follow {
        return Err(CommandError::new(
            ExitStatus::Usage,
            "--remote shows whole instances' logs: service names and -f apply to local containers",
        )
        .into());
    }
    let scope = super::eb_target(ctx, &args.env).await?;
    let eb = &scope.clients.eb;
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
