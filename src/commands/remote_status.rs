//! `stevedore status <env> --remote [--follow]`: the Elastic Beanstalk environment (status,
//! health, version, the digests it runs, endpoint) and its recent events; `--follow` keeps
//! printing events until Ctrl-C (which ends it with exit 0: watching is all it does).

use serde_json::json;

use super::Context;
use super::eb_follow::{now_ms, print_event};
use super::eb_scope::{self, EbScope};
use crate::aws::description::VersionDescription;
use crate::aws::environment;
use crate::aws::events::{self, EventPoller};
use crate::aws::versions;
use crate::cli::StatusArgs;
use crate::interrupt::SelfHandled;
use crate::output::{Event, Report};

/// How many past events to show.
const RECENT: i32 = 10;

/// Run `status --remote`.
pub async fn run(ctx: &Context, args: StatusArgs) -> anyhow::Result<Report> {
    let (project, settings) = eb_scope::settings_of(ctx, &args.env)?;
    let scope = EbScope::connect(ctx, &project, &settings, &args.env).await?;
    let eb = &scope.clients.eb;
    let state = environment::require(eb, &scope.application, &scope.eb_environment).await?;
    let version = match &state.version_label {
        Some(label) => versions::find(eb, &scope.application, label).await?,
        None => None,
    };
    let description = version
        .as_ref()
        .and_then(|v| v.description.as_deref())
        .and_then(VersionDescription::parse);
    let recent = events::recent(eb, &scope.application, &scope.eb_environment, RECENT).await?;
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
        print_event(ctx, event);
    }
    let _own_ctrl_c = SelfHandled::enter();
    let since = recent.last().map_or_else(now_ms, |e| e.time_ms);
    let mut poller = EventPoller::new(&scope.application, &scope.eb_environment, since);
    // The newest events are already on screen; the poller starts where they end.
    poller.mark_seen(&recent);
    ctx.printer.emit(Event::step(format!(
        "Following {}'s events (Ctrl-C to stop; the environment is not affected)",
        scope.eb_environment
    )));
    loop {
        tokio::select! {
            polled = poller.poll(eb) => {
                for event in polled? {
                    print_event(ctx, &event);
                }
            }
            _ = tokio::signal::ctrl_c() => break,
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(2)) => {}
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    Ok(Report::ok(data, String::new()))
}
