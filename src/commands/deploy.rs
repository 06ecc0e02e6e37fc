//! `stevedore deploy <env> <version>` (ARCHITECTURE §5): prepare the bundle
//! ([`crate::bundle::prepare`]), deploy it and follow the update ([`crate::eb::deploy`]),
//! report. `--abort` stops an update in progress.

use std::time::Instant;

use serde_json::json;

use super::Context;
use crate::bundle::prepare::{self, BundleOptions, Prepared};
use crate::cli::DeployArgs;
use crate::eb::EbTarget;
use crate::eb::deploy::{self, DeployOptions, Deployed};
use crate::exit::{CommandError, ExitStatus};
use crate::output::Report;

/// Run `deploy`.
pub async fn run(ctx: &Context, args: DeployArgs) -> anyhow::Result<Report> {
    if args.abort {
        return abort(ctx, &args).await;
    }
    let Some(version) = args.version.as_deref() else {
        return Err(CommandError::new(ExitStatus::Usage, "deploy needs a version").into());
    };
    let started = Instant::now();
    let emit = |event| ctx.printer.emit(event);
    let loaded = ctx.settings(Some(&args.env))?;
    let mut prepared = prepare::prepare(
        &loaded,
        &BundleOptions {
            env: &args.env,
            version,
            allow_unpinned: false,
            allow_lossy: args.allow_lossy,
        },
        &emit,
    )?;
    prepare::pin_third_party(&loaded, &mut prepared, !args.no_pin_third_party, &emit).await?;
    let scope = EbTarget::connect(&loaded, &args.env, &emit).await?;
    let deadline = started + scope.timeout(args.timeout.as_deref())?;
    let options = DeployOptions {
        allow_secrets: &args.allow_secrets,
        sync_env: args.sync_env,
        rollback_on_failure: args.rollback_on_failure,
        deadline,
        wait_for_lock: !ctx.global.no_wait,
    };
    let deployed = deploy::deploy(&scope, &prepared, &options, &emit).await?;
    Ok(report(&scope, &prepared, &deployed, started))
}

/// `deploy <env> --abort`.
async fn abort(ctx: &Context, args: &DeployArgs) -> anyhow::Result<Report> {
    let scope = ctx.eb_target(&args.env).await?;
    let deadline = Instant::now() + scope.timeout(args.timeout.as_deref())?;
    let emit = |event| ctx.printer.emit(event);
    let (aborted, state) = deploy::abort(&scope, deadline, &emit).await?;
    let text = if aborted {
        format!(
            "Aborted: {} is Ready on {} (health {})",
            state.name,
            state.version_label.as_deref().unwrap_or("no version"),
            state.health
        )
    } else {
        format!("Nothing to abort: {} is {}", state.name, state.status)
    };
    Ok(Report::ok(
        json!({"eb_environment": state.name, "aborted": aborted, "status": state.status, "health": state.health, "version_label": state.version_label}),
        text,
    ))
}

fn report(scope: &EbTarget, prepared: &Prepared, outcome: &Deployed, started: Instant) -> Report {
    let (built, actions) = (&outcome.built, &outcome.actions);
    let total_ms = started.elapsed().as_millis() as u64;
    let eb_ms = actions.processing_ms + outcome.eb_update_ms;
    let label = prepared.version.to_string();
    let data = json!({
        "environment": scope.env_name,
        "application": scope.application,
        "eb_environment": scope.eb_environment,
        "version": label,
        "commit": prepared.commit,
        "images": prepared.pins.iter().map(|(s, p)| json!({"service": s, "image": p.reference})).collect::<Vec<_>>(),
        "third_party": prepared.pins.third_party().collect::<Vec<_>>(),
        "unpinned": crate::bundle::pins::unpinned_images(&prepared.run.files),
        "bundle": {
            "sha256": built.sha256,
            "size": built.size,
            "bucket": actions.location.0,
            "key": actions.location.1,
            "upload": actions.upload,
        },
        "application_version": actions.version,
        "request_id": outcome.request_id,
        "unchanged": outcome.unchanged,
        "status": outcome.state.status,
        "health": outcome.state.health,
        "version_label": outcome.state.version_label,
        "endpoint_url": outcome.state.endpoint_url,
        "properties": {
            "set": outcome.set.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
            "removed": outcome.remove,
        },
        // What stevedore adds to Elastic Beanstalk's own time (processing the version,
        // updating the environment): resolving, bundling, uploading, polling latency.
        "timings_ms": {
            "total": total_ms,
            "eb_processing": actions.processing_ms,
            "eb_update": outcome.eb_update_ms,
            "overhead": total_ms.saturating_sub(eb_ms),
        },
    });
    let text = format!(
        "{} {label} on {} ({}), health {}; images {}",
        if outcome.unchanged {
            "Already deployed:"
        } else {
            "Deployed"
        },
        scope.eb_environment,
        scope.application,
        outcome.state.health,
        crate::bundle::pins::pinning_text(&prepared.run.files)
    );
    Report::ok(data, text)
}
