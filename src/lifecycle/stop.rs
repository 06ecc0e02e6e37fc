//! Stopping and restarting an environment's containers in dependency order: dependents
//! stop first, so nothing loses what it depends on while it still runs.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::Docker;
use futures_util::future::try_join_all;

use super::readiness;
use super::scope::EnvScope;
use super::teardown::grace_of;
use super::up::final_goals;
use crate::compose::ComposeFile;
use crate::engine::containers::{self, ContainerInfo};
use crate::engine::labels;
use crate::output::Event;

/// The project's service containers (not one-off ones), in reverse start order: dependents
/// first, so nothing loses what it depends on while it still runs. Unknown services last.
pub fn in_stop_order(scope: &EnvScope, all: &[ContainerInfo]) -> Vec<Vec<ContainerInfo>> {
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

/// Stop `groups` one after the other (a group in parallel), each container with its grace
/// (see [`grace_of`]); the names of those that ran.
pub async fn stop_groups(
    docker: &Docker,
    file: &ComposeFile,
    groups: &[Vec<ContainerInfo>],
    grace: Option<Duration>,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<Vec<String>> {
    let mut stopped = Vec::new();
    for group in groups {
        try_join_all(group.iter().filter(|c| c.is_running()).map(|c| async {
            emit(Event::info(format!("stopping {}", c.name)));
            let grace = grace_of(file, c.label(labels::compose::SERVICE), grace);
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

/// Restart the containers of `groups` (from [`in_stop_order`]): stop them all, start them in
/// dependency order, wait (bounded by `timeout`) until they are up again. Their names.
pub async fn restart(
    docker: &Docker,
    scope: &EnvScope,
    groups: &[Vec<ContainerInfo>],
    grace: Option<Duration>,
    timeout: Duration,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<Vec<String>> {
    stop_groups(docker, &scope.file, groups, grace, emit).await?;
    let mut ids: HashMap<String, String> = HashMap::new();
    for group in groups.iter().rev() {
        for container in group {
            emit(Event::info(format!("starting {}", container.name)));
            containers::start(docker, &container.id).await?;
            ids.insert(
                container.label(labels::compose::SERVICE).to_owned(),
                container.id.clone(),
            );
        }
    }
    let awaited = final_goals(scope, &ids);
    let deadline = Instant::now() + timeout;
    readiness::wait_all(docker, &awaited, deadline, timeout, emit).await?;
    Ok(groups.iter().flatten().map(|c| c.name.clone()).collect())
}
