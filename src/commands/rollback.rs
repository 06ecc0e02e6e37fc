//! `stevedore rollback <env> [version]`: redeploy a version Elastic Beanstalk already has and
//! follow it like `deploy` (0, 7, 8, 10, 130). Without a version: the newest that ran
//! successfully before (see [`crate::eb::rollback`]).

use std::time::Instant;

use serde_json::json;

use super::Context;
use crate::cli::RollbackArgs;
use crate::eb::follow::{self, Ending};
use crate::eb::{EbTarget, lock, rollback};
use crate::exit::{CommandError, ExitStatus};
use crate::output::{Event, Report};

/// Run `rollback`.
pub async fn run(ctx: &Context, args: RollbackArgs) -> anyhow::Result<Report> {
    let started = Instant::now();
    let emit = |event| ctx.printer.emit(event);
    let scope = ctx.eb_target(&args.env).await?;
    let deadline = started + scope.timeout(args.timeout.as_deref())?;
    scope.clients.bound_by(deadline);
    let root = ctx.settings(Some(&args.env))?.project.root.clone();
    // One change at a time per environment, across machines (see `crate::eb::lock`).
    let what = lock::LockFor {
        command: "rollback",
        version: args.version.as_deref(),
        commit: None,
        root: &root,
        wait: !ctx.global.no_wait,
        deadline,
    };
    lock::with_lock(
        &scope,
        &what,
        &emit,
        roll_back(&scope, &args, deadline, &emit),
    )
    .await
}

/// Choose the version and switch to it, the lock held.
async fn roll_back(
    scope: &EbTarget,
    args: &RollbackArgs,
    deadline: Instant,
    emit: &(dyn Fn(crate::output::Event) + Sync),
) -> anyhow::Result<Report> {
    let emit = |event| emit(event);
    let rollback::Choice { target, state } =
        rollback::choose(scope, args.version.as_deref(), &emit).await?;
    let from = state.version_label.clone();
    if from.as_deref() == Some(target.as_str()) && state.is_ready() && scope.healthy(&state) {
        emit(Event::success(format!(
            "{} already runs {target} ({}); nothing to do",
            scope.eb_environment, state.health
        )));
        return Ok(report(scope, &target, from.as_deref(), &state.health, true));
    }
    emit(Event::step(format!(
        "Rolling {} back from {} to {target}",
        scope.eb_environment,
        from.as_deref().unwrap_or("no version")
    )));
    match rollback::switch_to(scope, state, &target, deadline, &emit).await? {
        Ending::Succeeded(after, _) => {
            emit(Event::success(format!(
                "{} runs {target} again, health {}",
                scope.eb_environment, after.health
            )));
            Ok(report(
                scope,
                &target,
                from.as_deref(),
                &after.health,
                false,
            ))
        }
        Ending::Failed { reason } => {
            follow::print_tail_logs(scope, &emit).await;
            Err(CommandError::new(
                ExitStatus::DeployFailed,
                format!(
                    "rollback of {} to {target} failed: {reason}",
                    scope.eb_environment
                ),
            )
            .into())
        }
        other => Err(
            follow::stopped_watching(scope, &other, &format!("the rollback to {target}")).into(),
        ),
    }
}

fn report(
    scope: &EbTarget,
    target: &str,
    from: Option<&str>,
    health: &str,
    unchanged: bool,
) -> Report {
    Report::ok(
        json!({
            "environment": scope.env_name,
            "eb_environment": scope.eb_environment,
            "version": target,
            "from": from,
            "health": health,
            "unchanged": unchanged,
        }),
        format!(
            "{} {} runs {target} (health {health})",
            if unchanged {
                "Unchanged:"
            } else {
                "Rolled back:"
            },
            scope.eb_environment
        ),
    )
}
