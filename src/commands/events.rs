//! `stevedore events <env> [--follow]`: the environment's Elastic Beanstalk events, printed as
//! the deploy follow prints them ([`crate::aws::events::EbEvent::line`]); `--follow` keeps
//! printing new ones until Ctrl-C (exit 0).

use serde_json::json;

use super::Context;
use crate::aws::events::{self, EventPoller};
use crate::aws::pace;
use crate::cli::EventsArgs;
use crate::interrupt::SelfHandled;
use crate::output::{Event, Report};

/// Run `events`.
pub async fn run(ctx: &Context, args: EventsArgs) -> anyhow::Result<Report> {
    let scope = ctx.eb_target(&args.env).await?;
    let eb = &scope.clients.eb;
    let recent = events::recent(eb, &scope.application, &scope.eb_environment, args.count).await?;
    let data = |shown: &[events::EbEvent]| {
        json!({
            "environment": scope.env_name,
            "eb_environment": scope.eb_environment,
            "events": shown,
        })
    };
    if !args.follow {
        let text: Vec<String> = recent.iter().map(events::EbEvent::line).collect();
        return Ok(Report::ok(data(&recent), text.join("\n")));
    }
    for event in &recent {
        ctx.printer.emit(Event::info(event.line()));
    }
    let _own_ctrl_c = SelfHandled::enter();
    let since = recent
        .last()
        .map_or_else(crate::aws::deploy_lock::now_ms, |e| e.time_ms);
    let mut poller = EventPoller::new(&scope.application, &scope.eb_environment, since);
    poller.mark_seen(&recent);
    let mut shown = recent;
    ctx.printer.emit(Event::step(format!(
        "Following {}'s events (Ctrl-C to stop; the environment is not affected)",
        scope.eb_environment
    )));
    loop {
        tokio::select! {
            polled = poller.poll(eb) => {
                for event in polled? {
                    ctx.printer.emit(Event::info(event.line()));
                    shown.push(event);
                }
            }
            _ = tokio::signal::ctrl_c() => break,
        }
        tokio::select! {
            _ = tokio::time::sleep(pace::EVENTS_FOLLOW) => {}
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    Ok(Report::ok(data(&shown), String::new()))
}
