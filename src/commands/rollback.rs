//! `stevedore rollback <env> [version]`: redeploy a version Elastic Beanstalk already has — no
//! build, no upload — and follow it like `deploy` (0, 7, 8, 10, 130). Without a version: list
//! the candidates (versions this environment ran successfully) and take the newest that is not
//! the current one. The image is the one that version pinned, so the stack rolls back too.

use std::time::Instant;

use serde_json::json;

use super::Context;
use super::eb_follow::{self, Ending};
use super::eb_scope::{self, EbScope};
use super::history;
use crate::aws::environment::Update;
use crate::aws::versions;
use crate::cli::RollbackArgs;
use crate::exit::{CommandError, ExitStatus};
use crate::hint;
use crate::output::{Event, Report};

/// Run `rollback`.
pub async fn run(ctx: &Context, args: RollbackArgs) -> anyhow::Result<Report> {
    let started = Instant::now();
    let (project, settings) = eb_scope::settings_of(ctx, &args.env)?;
    let scope = EbScope::connect(ctx, &project, &settings, &args.env).await?;
    let deadline = started + scope.timeout(args.timeout.as_deref())?;
    let _lock = super::take_deploy_lock(
        ctx,
        &scope,
        &project.root,
        "rollback",
        args.version.as_deref(),
        None,
        deadline,
    )
    .await?;
    let (deploys, state) = history::collect(&scope).await?;
    let current = state.version_label.clone();
    let candidates = candidates(&deploys, current.as_deref());
    if !candidates.is_empty() {
        ctx.printer.emit(Event::info(format!(
            "Versions {} ran successfully before (newest first): {}",
            scope.eb_environment,
            candidates.join(", ")
        )));
    }
    let target = match (&args.version, candidates.first()) {
        (Some(version), _) => version.clone(),
        (None, Some(newest)) => (*newest).to_owned(),
        (None, None) => {
            return Err(CommandError::new(
                ExitStatus::InvalidInput,
                format!(
                    "{} has no earlier version that ran successfully (in the six weeks of events \
                     Elastic Beanstalk keeps); name one: `{} <version>`",
                    scope.eb_environment,
                    hint::command(&["rollback", &scope.env_name])
                ),
            )
            .into());
        }
    };
    let eb = &scope.clients.eb;
    if versions::find(eb, &scope.application, &target)
        .await?
        .is_none()
    {
        return Err(CommandError::new(
            ExitStatus::InvalidInput,
            format!(
                "application {} has no version {target}; `{}` lists what it ran",
                scope.application,
                hint::command(&["history", &scope.env_name])
            ),
        )
        .into());
    }
    let healthy = scope.healthy(&state);
    if current.as_deref() == Some(target.as_str()) && state.is_ready() && healthy {
        ctx.printer.emit(Event::success(format!(
            "{} already runs {target} ({}); nothing to do",
            scope.eb_environment, state.health
        )));
        return Ok(report(
            &scope,
            &target,
            current.as_deref(),
            &state.health,
            true,
        ));
    }
    let state = eb_follow::wait_until_ready(ctx, &scope, state, deadline).await?;
    ctx.printer.emit(Event::step(format!(
        "Rolling {} back from {} to {target}",
        scope.eb_environment,
        state.version_label.as_deref().unwrap_or("no version")
    )));
    let (ending, _) = eb_follow::update_and_follow(
        ctx,
        &scope,
        &Update {
            version_label: Some(target.clone()),
            ..Update::default()
        },
        deadline,
    )
    .await?;
    match ending {
        Ending::Succeeded(after, _) => {
            ctx.printer.emit(Event::success(format!(
                "{} runs {target} again, health {}",
                scope.eb_environment, after.health
            )));
            Ok(report(
                &scope,
                &target,
                state.version_label.as_deref(),
                &after.health,
                false,
            ))
        }
        Ending::Failed { reason } => {
            eb_follow::print_tail_logs(ctx, &scope).await;
            Err(CommandError::new(
                ExitStatus::DeployFailed,
                format!(
                    "rollback of {} to {target} failed: {reason}",
                    scope.eb_environment
                ),
            )
            .into())
        }
        other => {
            Err(
                eb_follow::stopped_watching(&scope, &other, &format!("the rollback to {target}"))
                    .into(),
            )
        }
    }
}

/// Versions the environment ran successfully, newest first, without repeats or the current one.
fn candidates<'a>(deploys: &'a [history::Deploy], current: Option<&str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for deploy in deploys.iter().filter(|d| d.outcome == "succeeded") {
        if Some(deploy.version.as_str()) != current && !out.contains(&deploy.version.as_str()) {
            out.push(&deploy.version);
        }
    }
    out
}

fn report(
    scope: &EbScope,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn deploy(version: &str, outcome: &'static str) -> history::Deploy {
        history::Deploy {
            version: version.into(),
            outcome,
            at: String::new(),
            at_ms: 0,
            event: String::new(),
            current: false,
            commit: None,
            digest: None,
            images: Vec::new(),
            bundle: None,
            created_by: None,
        }
    }

    #[test]
    fn the_previous_healthy_versions_newest_first() {
        // Newest first: 1.3.0 runs now, 1.2.0 failed, before that 1.1.0 and 1.0.0 were healthy.
        let deploys = vec![
            deploy("1.3.0", "succeeded"),
            deploy("1.2.0", "failed"),
            deploy("1.1.0", "succeeded"),
            deploy("1.3.0", "succeeded"),
            deploy("1.0.0", "succeeded"),
            deploy("1.1.0", "succeeded"),
        ];
        assert_eq!(candidates(&deploys, Some("1.3.0")), vec!["1.1.0", "1.0.0"]);
        assert!(candidates(&deploys[..2], Some("1.3.0")).is_empty());
        assert_eq!(candidates(&deploys[1..2], None), Vec::<&str>::new());
    }
}
