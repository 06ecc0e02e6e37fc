//! Removing an environment's images (`image destroy`): refused while a running container
//! uses one.

use std::path::Path;

use bollard::Docker;

use super::{BuildScope, plan};
use crate::engine::images;
use crate::exit::{CommandError, ExitStatus};
use crate::hint;
use crate::output::Event;

/// Remove the images of `scope`'s environment (of `service` only, when given); the tags
/// removed. The caller holds the environment lock.
pub async fn destroy(
    docker: &Docker,
    scope: &BuildScope,
    compose_override: Option<&Path>,
    service: Option<&str>,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<Vec<String>> {
    let tags: Vec<String> = plan::targets(scope, emit, compose_override, service)?
        .into_iter()
        .map(|t| t.tag)
        .collect();
    let mut present = Vec::new();
    for tag in tags {
        if images::exists(docker, &tag).await? {
            present.push(tag);
        }
    }
    for tag in &present {
        let running = images::running_containers_of(docker, tag).await?;
        if !running.is_empty() {
            return Err(CommandError::new(
                ExitStatus::InvalidInput,
                format!(
                    "image {tag} is in use by running container(s) {}. Try: `{}` to stop them \
                     first",
                    running.join(", "),
                    hint::command(&["stop", &scope.env.name])
                ),
            )
            .into());
        }
    }
    for tag in &present {
        emit(Event::step(format!("Removing image {tag}")));
        images::remove(docker, tag, true).await?;
    }
    if present.is_empty() {
        emit(Event::info(format!(
            "environment {} has no local images to remove",
            scope.env.name
        )));
    }
    Ok(present)
}
