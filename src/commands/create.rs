//! `stevedore create <env> [--version LABEL]`: make the environment's Elastic Beanstalk
//! environment from `[environments.<env>.create]` — the platform chosen from what the region
//! offers (one branch, its newest version; several matching branches are an error that lists
//! them), the instance type, option settings and tags — and wait until it is Ready.

use std::time::Instant;

use serde_json::json;

use super::Context;
use crate::aws::environment;
use crate::aws::provision::{self, INSTANCE_TYPE, NewEnvironment};
use crate::bundle::BundleFormat;
use crate::cli::CreateArgs;
use crate::eb::operation::{self, Sent, Until};
use crate::exit::{CommandError, ExitStatus};
use crate::output::{Event, Report};

/// Run `create`.
pub async fn run(ctx: &Context, args: CreateArgs) -> anyhow::Result<Report> {
    let started = Instant::now();
    let scope = ctx.eb_target(&args.env).await?;
    let deadline = started + scope.timeout(args.timeout.as_deref())?;
    let eb = &scope.clients.eb;
    let loaded = ctx.settings(Some(&args.env))?;
    let section = loaded
        .project
        .config
        .environments
        .get(&args.env)
        .and_then(|e| e.create.clone())
        .unwrap_or_default();
    if let Some(existing) =
        environment::describe(eb, &scope.application, &scope.eb_environment).await?
    {
        return Err(CommandError::new(
            ExitStatus::InvalidInput,
            format!(
                "Elastic Beanstalk environment {} already exists ({}); `{}` shows it",
                existing.name,
                existing.status,
                crate::hint::command(&["status", &args.env, "--remote"])
            ),
        )
        .into());
    }
    if provision::ensure_application(eb, &scope.application).await? {
        ctx.printer.emit(Event::info(format!(
            "Created application {}",
            scope.application
        )));
    }
    // The platform the bundle format runs on, unless stevedore.toml names one.
    let typed = loaded.typed().clone();
    let wanted = section.platform.clone().unwrap_or_else(|| {
        match typed.bundle_format {
            Some(BundleFormat::V2) | None => "ECS running on 64bit Amazon Linux 2023",
            Some(_) => "Docker running on 64bit Amazon Linux 2023",
        }
        .to_owned()
    });
    let offered = provision::platforms(eb).await?;
    let platform = provision::choose_platform(&args.env, &wanted, &offered)?;
    let mut options: Vec<(String, String, String)> = Vec::new();
    if let Some(instance_type) = &section.instance_type {
        options.push((
            INSTANCE_TYPE.0.into(),
            INSTANCE_TYPE.1.into(),
            instance_type.clone(),
        ));
    }
    for (namespace, values) in &section.options {
        for (option, value) in values {
            options.push((namespace.clone(), option.clone(), value.to_string()));
        }
    }
    let mut tags: Vec<(String, String)> = section.tags.clone().into_iter().collect();
    tags.push(("stevedore:environment".into(), args.env.clone()));
    ctx.printer.emit(Event::step(format!(
        "Creating {} ({}) on {} {}",
        scope.eb_environment, scope.application, platform.branch, platform.version
    )));
    let since_ms = operation::events_start_ms();
    let (_, request_id) = provision::create(
        eb,
        &NewEnvironment {
            application: scope.application.clone(),
            name: scope.eb_environment.clone(),
            platform_arn: platform.arn.clone(),
            cname_prefix: section.cname_prefix.clone(),
            version_label: args.version.clone(),
            options,
            tags,
        },
    )
    .await?;
    let data = |state: Option<&environment::EnvState>| {
        json!({
            "environment": args.env,
            "application": scope.application,
            "eb_environment": scope.eb_environment,
            "platform": platform,
            "request_id": request_id,
            "state": state,
        })
    };
    let what = format!("the creation of {}", scope.eb_environment);
    let emit = |e| ctx.printer.emit(e);
    let sent = Sent::of(request_id.clone(), since_ms);
    let state = scope
        .settle(
            &sent,
            Until::Ready,
            &what,
            ctx.global.no_wait,
            deadline,
            &emit,
        )
        .await?;
    let text = match &state {
        Some(s) => format!(
            "Created {}: {} (health {}) at {}",
            s.name,
            s.status,
            s.health,
            s.cname.as_deref().unwrap_or("-")
        ),
        None => format!("Launching {}", scope.eb_environment),
    };
    Ok(Report::ok(data(state.as_ref()), text))
}
