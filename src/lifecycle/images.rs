//! The images an environment's services run: built (as `image build` builds them) when a service
//! builds and its image is missing or `--build` asks, pulled when a plain image is missing.

use std::collections::HashMap;

use bollard::Docker;

use super::scope::EnvScope;
use crate::compose::runtime::PullPolicy;
use crate::engine::{EngineError, images};
use crate::exit::{CommandError, ExitStatus};
use crate::image::{self, BuildOptions};
use crate::output::Event;

/// Build the images of services that build and lack one (all of them with `rebuild`), and
/// pull the plain images that are missing. `only` limits this to some services. Returns the
/// image id of every service's image, by service.
pub async fn ensure_images(
    docker: &Docker,
    scope: &EnvScope,
    rebuild: bool,
    only: Option<&[String]>,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<HashMap<String, String>> {
    let ids = image_ids(docker, scope).await?;
    let wanted = |name: &str| only.is_none_or(|names| names.iter().any(|n| n == name));
    let mut to_build: Vec<String> = Vec::new();
    let mut builders = 0;
    let mut pulled = false;
    for (name, service) in &scope.file.services {
        let Some(reference) = scope.images.get(name) else {
            continue;
        };
        if !wanted(name) {
            continue;
        }
        let policy = service.runtime.pull_policy;
        if service.build.is_some() {
            builders += 1;
            if rebuild || !ids.contains_key(name) || policy == Some(PullPolicy::Build) {
                to_build.push(name.clone());
            }
        } else if policy == Some(PullPolicy::Never) && !ids.contains_key(name) {
            return Err(CommandError::new(
                ExitStatus::Engine,
                format!(
                    "service `{name}` has `pull_policy: never` and its image {reference} is not \
                     on this machine; pull or load it first"
                ),
            )
            .into());
        } else if policy == Some(PullPolicy::Always) || !ids.contains_key(name) {
            pulled = true;
            emit(Event::step(format!("Pulling {reference} for {name}")));
            // The user's credentials for the image's registry, as `docker compose pull` sends
            // them (an ECR registry with the environment's AWS profile).
            let registry = crate::registry::credentials::registry_of(reference);
            let profile = scope.base.aws_profile.as_deref();
            let credentials =
                crate::registry::build_auth::registry_credentials(&registry, profile).await;
            images::pull(docker, reference, credentials)
                .await
                .map_err(|err| -> anyhow::Error {
                    match err {
                        // A stall and a bad setting say what to do themselves, with their code.
                        EngineError::Stalled { .. } | EngineError::BadIdleTimeout { .. } => {
                            err.into()
                        }
                        err => CommandError::new(
                            ExitStatus::Engine,
                            format!(
                                "service `{name}` runs image {reference}, which is not on this \
                                 machine and could not be pulled ({err}). Pull or build it, then \
                                 start again"
                            ),
                        )
                        .into(),
                    }
                })?;
        }
    }
    if to_build.is_empty() {
        return if pulled {
            image_ids(docker, scope).await
        } else {
            Ok(ids)
        };
    }
    // One build of everything when every builder needs it; otherwise only the missing ones.
    let services: Vec<Option<String>> = if to_build.len() == builders && only.is_none() {
        vec![None]
    } else {
        to_build.into_iter().map(Some).collect()
    };
    for service in services {
        emit(Event::info(match &service {
            Some(name) => format!("image of {name} missing: building it"),
            None if rebuild => "building the images (--build)".to_owned(),
            None => "no images yet: building them".to_owned(),
        }));
        let options = BuildOptions {
            compose_override: Some(scope.compose_path.clone()),
            only: service,
            ..BuildOptions::default()
        };
        image::build_all(docker, &scope.base, &options, emit).await?;
    }
    image_ids(docker, scope).await
}

/// The current image id of each service's image.
async fn image_ids(docker: &Docker, scope: &EnvScope) -> anyhow::Result<HashMap<String, String>> {
    let lookups = scope.images.iter().map(|(service, reference)| async move {
        images::image_id(docker, reference)
            .await
            .map(|id| id.map(|id| (service.clone(), id)))
    });
    Ok(futures_util::future::try_join_all(lookups)
        .await?
        .into_iter()
        .flatten()
        .collect())
}
