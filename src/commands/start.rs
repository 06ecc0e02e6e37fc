//! `stevedore start <env>`: bring the environment up ([`crate::lifecycle::up`]), print the
//! published URLs, then follow the logs until Ctrl-C, which detaches.

use serde_json::json;

use super::Context;
use crate::cli::StartArgs;
use crate::engine;
use crate::engine::logs::LogOptions;
use crate::hint;
use crate::lifecycle::logs::{self, Ended};
use crate::lifecycle::scope::Runtime;
use crate::lifecycle::up::{self, UpOptions};
use crate::output::{Event, Report};

/// Log lines of history shown when following starts.
const FOLLOW_TAIL: u64 = 20;

/// Run `start`.
pub async fn run(ctx: &Context, args: StartArgs) -> anyhow::Result<Report> {
    let emit = |event| ctx.printer.emit(event);
    let timeout = super::timeout_flag(&args.timeout)?;
    let scope = ctx.env_scope(&args.env, &args.compose, Runtime::Read)?;
    let _lock = ctx
        .lock_env(&scope.base.project.root, scope.env(), "start")
        .await?;
    let docker = engine::connect().await?;
    // As Compose: `--detach` returns once started; `--wait`, and following the logs, first
    // wait for every container to be up and healthy.
    let detach = args.detach || args.wait;
    let options = UpOptions {
        timeout,
        build: args.build,
        force_recreate: args.force_recreate,
        remove_orphans: args.remove_orphans,
        wait: args.wait || !detach,
    };
    let up = up::up(&docker, &scope, &options, &emit).await?;
    let state = if options.wait { "is up" } else { "is started" };
    for (service, url) in &up.urls {
        emit(Event::success(format!("{service} {state}: {url}")));
    }
    if up.urls.is_empty() {
        emit(Event::success(format!(
            "environment {} {state} (no published ports)",
            scope.env()
        )));
    }
    if !options.wait {
        emit(Event::info(
            "not waiting for health checks; `start --wait` waits for every container",
        ));
    }
    if args.open
        && let Some((_, url)) = up.urls.first()
    {
        open_browser(ctx, url);
    }
    let data = json!({
        "environment": scope.env(),
        "project": scope.project,
        "services": up.services,
        "urls": up.urls.iter().map(|(service, url)| json!({"service": service, "url": url})).collect::<Vec<_>>(),
        "orphans": up.orphans,
    });
    if !detach {
        emit(Event::info(
            "Following the logs; Ctrl-C detaches (the containers keep running)",
        ));
        let options = LogOptions {
            follow: true,
            tail: Some(FOLLOW_TAIL),
            since: None,
        };
        if logs::follow(&docker, &up.logs, options, &emit).await? == Ended::Detached {
            emit(Event::info(format!(
                "Detached: the containers keep running. Stop them with `{}`",
                hint::command(&["stop", scope.env()])
            )));
        }
    }
    Ok(Report::ok(data, ""))
}

/// Open `url` with the desktop's opener, where there is one; never fatal.
fn open_browser(ctx: &Context, url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    match std::process::Command::new(opener)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Ok(_) => ctx.printer.emit(Event::info(format!("opened {url}"))),
        Err(err) => ctx.printer.emit(Event::warning(format!(
            "--open: cannot run `{opener}` ({err}); open {url} yourself"
        ))),
    }
}
