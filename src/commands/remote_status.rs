//! `stevedore status <env> --remote [--follow]`: the Elastic Beanstalk environment (status,
//! health, version, the digests it runs, endpoint) and its recent events; `--follow` keeps
//! printing events until Ctrl-C (which ends it with exit 0: watching is all it does).

use serde_json::json;

use super::Context;
use crate::cli::StatusArgs;
use crate::eb::follow::event_line;
use crate::eb::status::{self, Snapshot};
use crate::output::{Event, Report};

/// How many past events to show.
const RECENT: i32 = 10;

/// Run `status --remote`.
pub async fn run(ctx: &Context, args: StatusArgs) -> anyhow::Result<Report> {
    let scope = ctx.eb_target(&args.env).await?;
    let Snapshot {
        state,
        version,
        description,
        recent,
    } = status::snapshot(&scope, RECENT).await?;
    let mut text = format!(
        "{} ({})\n  status    {}\n  health    {}\n  version   {}\n",
        scope.eb_environment,
        scope.application,
        state.status,
        state.health,
        state.version_label.as_deref().unwrap_or("none"),
    );
    if let Some(d) = &description {
        text.push_str(&format!(
            "  images    {}\n  commit    {}\n  bundle    {}\n  made by   {}\n",
            d.images
                .iter()
                .map(|(s, h)| format!("{s}@sha256:{h}…"))
                .collect::<Vec<_>>()
                .join(", "),
            d.commit,
            d.bundle,
            d.actor
        ));
    }
    text.push_str(&format!(
        "  platform  {}\n  endpoint  {}\n",
        state.solution_stack,
        state
            .endpoint_url
            .as_deref()
            .or(state.cname.as_deref())
            .unwrap_or("-")
    ));
    let data = json!({
        "environment": scope.env_name,
        "application": scope.application,
        "eb_environment": scope.eb_environment,
        "state": state,
        "version": version,
        "description": description,
        "events": recent,
    });
    if !(args.follow) {
        if !recent.is_empty() {
            text.push_str("Recent events (UTC):\n");
            for event in &recent {
                text.push_str(&format!(
                    "  {}  {:<7} {}\n",
                    event.time_text(),
                    event.severity,
                    event.message
                ));
            }
        }
        return Ok(Report::ok(data, text));
    }
    // Following: the state as a step, then every event as it comes, until Ctrl-C.
    ctx.printer.emit(Event::info(text.trim_end().to_owned()));
    for event in &recent {
        ctx.printer.emit(event_line(event));
    }
    ctx.printer.emit(Event::step(format!(
        "Following {}'s events (Ctrl-C to stop; the environment is not affected)",
        scope.eb_environment
    )));
    status::watch_events(&scope, &recent, &|event| ctx.printer.emit(event)).await?;
    Ok(Report::ok(data, String::new()))
}
