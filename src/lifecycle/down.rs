//! Removing an environment (`down`): its containers (in stop order), networks, and on request
//! its named volumes and images.

use std::time::Duration;

use bollard::Docker;

use super::plan;
use super::scope::EnvScope;
use super::teardown::{self, Teardown};
use crate::engine::containers::{self, ContainerInfo};
use crate::engine::{images, labels, networks, volumes};
use crate::output::Event;

/// Which images `down --rmi` removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoveImages {
    /// Those the environment builds.
    Local,
    /// Every image its services use.
    All,
}

/// What to remove besides containers and networks.
#[derive(Debug, Clone, Copy)]
pub struct DownOptions {
    /// How long a container gets to stop before it is killed (`-t`; `None`: its service's
    /// `stop_grace_period`, else 10 s).
    pub grace: Option<Duration>,
    /// Also containers of services no longer in the compose file.
    pub remove_orphans: bool,
    /// Also the named volumes.
    pub volumes: bool,
    /// Also images.
    pub rmi: Option<RemoveImages>,
}

/// What was removed.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Removed {
    /// Containers.
    pub containers: Vec<String>,
    /// Networks.
    pub networks: Vec<String>,
    /// Volumes.
    pub volumes: Vec<String>,
    /// Images.
    pub images: Vec<String>,
}

impl Removed {
    /// Nothing was there.
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty()
            && self.networks.is_empty()
            && self.volumes.is_empty()
            && self.images.is_empty()
    }
}

/// Remove `scope`'s environment. The caller holds the environment lock.
pub async fn down(
    docker: &Docker,
    scope: &EnvScope,
    options: &DownOptions,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<Removed> {
    let selector = plan::project_selector(&scope.project);
    let all = containers::list(docker, &selector).await?;
    let (orphans, keep): (Vec<ContainerInfo>, Vec<ContainerInfo>) =
        all.iter().cloned().partition(|c| {
            c.label(labels::compose::ONEOFF) != "True"
                && !scope
                    .file
                    .services
                    .contains_key(c.label(labels::compose::SERVICE))
        });
    let doomed: Vec<ContainerInfo> = if options.remove_orphans {
        all.clone()
    } else {
        keep
    };
    if !options.remove_orphans && !orphans.is_empty() {
        let names: Vec<&str> = orphans.iter().map(|c| c.name.as_str()).collect();
        emit(Event::warning(format!(
            "orphan container(s) {} kept (their services are no longer in the compose file); \
             `--remove-orphans` removes them",
            names.join(", ")
        )));
    }
    emit(Event::step(format!(
        "Removing environment {} (project {})",
        scope.env(),
        scope.project
    )));
    teardown::run(
        docker,
        &scope.file,
        &doomed,
        options.grace,
        Teardown::StopAndRemove,
        &emit,
    )
    .await?;
    let removed: Vec<String> = doomed.iter().map(|c| c.name.clone()).collect();
    let mut removed_networks = Vec::new();
    for network in networks::list(docker, &selector).await? {
        match networks::remove(docker, &network).await {
            Ok(()) => removed_networks.push(network),
            // Still used by a kept orphan: say so, go on.
            Err(err) => emit(Event::warning(format!(
                "network {network} not removed: {err}"
            ))),
        }
    }
    let mut removed_volumes = Vec::new();
    if options.volumes {
        for volume in volumes::list(docker, &selector).await? {
            volumes::remove(docker, &volume).await?;
            removed_volumes.push(volume);
        }
    }
    let mut removed_images = Vec::new();
    if let Some(which) = options.rmi {
        for (service, reference) in &scope.images {
            let built = scope
                .file
                .services
                .get(service)
                .is_some_and(|s| s.build.is_some());
            if !(built || which == RemoveImages::All)
                || images::image_id(docker, reference).await?.is_none()
            {
                continue;
            }
            match images::remove(docker, reference, false).await {
                Ok(()) => removed_images.push(reference.clone()),
                // Used by a container of another project: say so, go on.
                Err(err) => emit(Event::warning(format!(
                    "image {reference} not removed: {err}"
                ))),
            }
        }
        removed_images.sort();
    }
    Ok(Removed {
        containers: removed,
        networks: removed_networks,
        volumes: removed_volumes,
        images: removed_images,
    })
}
