//! `stop` (stop, keep), `down` (remove containers and networks; `--volumes` also named
//! volumes) and `restart` (stop, then start again and wait until up) of an environment.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::Docker;
use futures_util::future::try_join_all;
use serde_json::json;

use super::Context;
use super::lifecycle_scope::{self, EnvScope, Runtime};
use super::readiness;
use super::start::final_goals;
use crate::cli::{DownArgs, LifecycleArgs, RemoveImages};
use crate::engine::containers::{self, ContainerInfo};
use crate::engine::{self, images, labels, networks, volumes};
use crate::hint;
use crate::lifecycle::plan;
use crate::lifecycle::teardown::{self, Teardown};
use crate::output::{Event, Report};

/// How long `restart` waits for the containers to be up again.
const RESTART_TIMEOUT: Duration = Duration::from_secs(120);

/// The project's service containers (not one-off ones), in reverse start order: dependents
/// first, so nothing loses what it depends on while it still runs. Unknown services last.
fn in_stop_order(scope: &EnvScope, all: &[ContainerInfo]) -> Vec<Vec<ContainerInfo>> {
    let layers = scope.file.startup_order().unwrap_or_default();
    let service_of = |c: &ContainerInfo| c.label(labels::compose::SERVICE).to_owned();
    let services: Vec<&ContainerInfo> = all
        .iter()
        .filter(|c| c.label(labels::compose::ONEOFF) != "True")
        .collect();
    let mut out: Vec<Vec<ContainerInfo>> = Vec::new();
    let known: Vec<&String> = layers.iter().flatten().collect();
    let unknown: Vec<ContainerInfo> = services
        .iter()
        .filter(|c| !known.contains(&&service_of(c)))
        .map(|c| (*c).clone())
        .collect();
    if !unknown.is_empty() {
        out.push(unknown);
    }
    for layer in layers.iter().rev() {
        let group: Vec<ContainerInfo> = services
            .iter()
            .filter(|c| layer.contains(&service_of(c)))
            .map(|c| (*c).clone())
            .collect();
        if !group.is_empty() {
            out.push(group);
        }
    }
    out
}

/// `-t SECONDS`: how long a container gets to stop before it is killed (Compose's default, 10).
fn grace(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

async fn stop_groups(
    ctx: &Context,
    docker: &Docker,
    groups: &[Vec<ContainerInfo>],
    grace: Duration,
) -> anyhow::Result<Vec<String>> {
    let mut stopped = Vec::new();
    for group in groups {
        try_join_all(group.iter().filter(|c| c.is_running()).map(|c| async {
            ctx.printer
                .emit(Event::info(format!("stopping {}", c.name)));
            containers::stop(docker, &c.id, grace).await
        }))
        .await?;
        stopped.extend(
            group
                .iter()
                .filter(|c| c.is_running())
                .map(|c| c.name.clone()),
        );
    }
    Ok(stopped)
}

/// Run `stop`.
pub async fn stop(ctx: &Context, args: LifecycleArgs) -> anyhow::Result<Report> {
    let scope = lifecycle_scope::load(ctx, &args.env, &args.compose, Runtime::Skip)?;
    let _lock = super::lock_env(ctx, &scope.base.project.root, scope.env(), "stop").await?;
    let docker = engine::connect().await?;
    let all = containers::list(&docker, &plan::project_selector(&scope.project)).await?;
    let groups = in_stop_order(&scope, &all);
    if !groups.iter().flatten().any(ContainerInfo::is_running) {
        return Err(scope.not_running().into());
    }
    ctx.printer.emit(Event::step(format!(
        "Stopping environment {} (project {})",
        scope.env(),
        scope.project
    )));
    let services: Vec<ContainerInfo> = groups.into_iter().flatten().collect();
    let emit = |event| ctx.printer.emit(event);
    let stopped = teardown::run(
        &docker,
        &scope.file,
        &services,
        grace(args.stop_timeout),
        Teardown::Stop,
        &emit,
    )
    .await?;
    ctx.printer.emit(Event::success(format!(
        "stopped {} container(s); `{}` resumes them",
        stopped.len(),
        hint::command(&["start", scope.env()])
    )));
    Ok(Report::ok(
        json!({"environment": scope.env(), "project": scope.project, "stopped": stopped}),
        "",
    ))
}

/// Run `down`.
pub async fn down(ctx: &Context, args: DownArgs) -> anyhow::Result<Report> {
    let scope = lifecycle_scope::load(ctx, &args.env, &args.compose, Runtime::Skip)?;
    let _lock = super::lock_env(ctx, &scope.base.project.root, scope.env(), "down").await?;
    let docker = engine::connect().await?;
    let selector = plan::project_selector(&scope.project);
    let all = containers::list(&docker, &selector).await?;
    let (orphans, keep): (Vec<ContainerInfo>, Vec<ContainerInfo>) =
        all.iter().cloned().partition(|c| {
            c.label(labels::compose::ONEOFF) != "True"
                && !scope
                    .file
                    .services
                    .contains_key(c.label(labels::compose::SERVICE))
        });
    let doomed: Vec<ContainerInfo> = if args.remove_orphans {
        all.clone()
    } else {
        keep
    };
    if !args.remove_orphans && !orphans.is_empty() {
        let names: Vec<&str> = orphans.iter().map(|c| c.name.as_str()).collect();
        ctx.printer.emit(Event::warning(format!(
            "orphan container(s) {} kept (their services are no longer in the compose file); \
             `--remove-orphans` removes them",
            names.join(", ")
        )));
    }
    ctx.printer.emit(Event::step(format!(
        "Removing environment {} (project {})",
        scope.env(),
        scope.project
    )));
    let emit = |event| ctx.printer.emit(event);
    teardown::run(
        &docker,
        &scope.file,
        &doomed,
        grace(args.stop_timeout),
        Teardown::StopAndRemove,
        &emit,
    )
    .await?;
    let removed: Vec<String> = doomed.iter().map(|c| c.name.clone()).collect();
    let mut removed_networks = Vec::new();
    for network in networks::list(&docker, &selector).await? {
        match networks::remove(&docker, &network).await {
            Ok(()) => removed_networks.push(network),
            // Still used by a kept orphan: say so, go on.
            Err(err) => ctx.printer.emit(Event::warning(format!(
                "network {network} not removed: {err}"
            ))),
        }
    }
    let mut removed_volumes = Vec::new();
    if args.volumes {
        for volume in volumes::list(&docker, &selector).await? {
            volumes::remove(&docker, &volume).await?;
            removed_volumes.push(volume);
        }
    }
    let mut removed_images = Vec::new();
    if let Some(which) = args.rmi {
        for (service, reference) in &scope.images {
            let built = scope
                .file
                .services
                .get(service)
                .is_some_and(|s| s.build.is_some());
            if !(built || which == RemoveImages::All)
                || images::image_id(&docker, reference).await?.is_none()
            {
                continue;
            }
            match images::remove(&docker, reference, false).await {
                Ok(()) => removed_images.push(reference.clone()),
                // Used by a container of another project: say so, go on.
                Err(err) => ctx.printer.emit(Event::warning(format!(
                    "image {reference} not removed: {err}"
                ))),
            }
        }
        removed_images.sort();
    }
    if removed.is_empty()
        && removed_networks.is_empty()
        && removed_volumes.is_empty()
        && removed_images.is_empty()
    {
        ctx.printer.emit(Event::info(format!(
            "environment {} has nothing to remove",
            scope.env()
        )));
    } else {
        ctx.printer.emit(Event::success(format!(
            "removed {} container(s), {} network(s), {} volume(s), {} image(s)",
            removed.len(),
            removed_networks.len(),
            removed_volumes.len(),
            removed_images.len()
        )));
    }
    Ok(Report::ok(
        json!({
            "environment": scope.env(),
            "project": scope.project,
            "containers": removed,
            "networks": removed_networks,
            "volumes": removed_volumes,
            "images": removed_images,
        }),
        "",
    ))
}

/// Run `restart`: the same containers, stopped and started again in dependency order.
pub async fn restart(ctx: &Context, args: LifecycleArgs) -> anyhow::Result<Report> {
    let scope = lifecycle_scope::load(ctx, &args.env, &args.compose, Runtime::Skip)?;
    let _lock = super::lock_env(ctx, &scope.base.project.root, scope.env(), "restart").await?;
    let docker = engine::connect().await?;
    let all = containers::list(&docker, &plan::project_selector(&scope.project)).await?;
    let groups = in_stop_order(&scope, &all);
    if groups.is_empty() {
        return Err(scope.not_running().into());
    }
    ctx.printer.emit(Event::step(format!(
        "Restarting environment {} (project {})",
        scope.env(),
        scope.project
    )));
    stop_groups(ctx, &docker, &groups, grace(args.stop_timeout)).await?;
    let mut ids: HashMap<String, String> = HashMap::new();
    for group in groups.iter().rev() {
        for container in group {
            ctx.printer
                .emit(Event::info(format!("starting {}", container.name)));
            containers::start(&docker, &container.id).await?;
            ids.insert(
                container.label(labels::compose::SERVICE).to_owned(),
                container.id.clone(),
            );
        }
    }
    let awaited = final_goals(&scope, &ids);
    let deadline = Instant::now() + RESTART_TIMEOUT;
    readiness::wait_all(&docker, &ctx.printer, &awaited, deadline, RESTART_TIMEOUT).await?;
    let names: Vec<String> = groups.iter().flatten().map(|c| c.name.clone()).collect();
    ctx.printer.emit(Event::success(format!(
        "restarted {} container(s)",
        names.len()
    )));
    Ok(Report::ok(
        json!({"environment": scope.env(), "project": scope.project, "restarted": names}),
        "",
    ))
}
