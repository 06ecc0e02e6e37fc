//! Named volumes: created before the containers that mount them, removed by `down --volumes`.

use std::collections::HashMap;

use bollard::Docker;
use bollard::models::VolumeCreateRequest;
use bollard::query_parameters::{ListVolumesOptionsBuilder, RemoveVolumeOptionsBuilder};

use super::EngineError;
use super::containers::is_not_found;

/// What to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeSpec {
    /// The volume's name.
    pub name: String,
    /// The driver (`None`: `local`).
    pub driver: Option<String>,
    /// Labels that say whose it is (and the file's own).
    pub labels: HashMap<String, String>,
    /// Driver options.
    pub options: HashMap<String, String>,
}

/// Create the volume unless it exists; `true` when it was created.
pub async fn ensure(docker: &Docker, spec: &VolumeSpec) -> Result<bool, EngineError> {
    match docker.inspect_volume(&spec.name).await {
        Ok(_) => return Ok(false),
        Err(err) if is_not_found(&err) => {}
        Err(err) => return Err(err.into()),
    }
    let request = VolumeCreateRequest {
        name: Some(spec.name.clone()),
        driver: spec.driver.clone(),
        labels: Some(spec.labels.clone()),
        driver_opts: (!spec.options.is_empty()).then(|| spec.options.clone()),
        ..Default::default()
    };
    docker.create_volume(request).await?;
    Ok(true)
}

/// Names of the volumes carrying every `key=value` label of `labels`.
pub async fn list(
    docker: &Docker,
    labels: &[(String, String)],
) -> Result<Vec<String>, EngineError> {
    let filters = super::label_filter(labels);
    let options = ListVolumesOptionsBuilder::default()
        .filters(&filters)
        .build();
    let mut names: Vec<String> = docker
        .list_volumes(Some(options))
        .await?
        .volumes
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.name)
        .collect();
    names.sort();
    Ok(names)
}

/// Remove a volume (gone already: fine).
pub async fn remove(docker: &Docker, name: &str) -> Result<(), EngineError> {
    let options = RemoveVolumeOptionsBuilder::default().force(false).build();
    match docker.remove_volume(name, Some(options)).await {
        Ok(()) => Ok(()),
        Err(err) if is_not_found(&err) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// Whether the volume `name` exists.
pub async fn exists(docker: &Docker, name: &str) -> Result<bool, EngineError> {
    match docker.inspect_volume(name).await {
        Ok(_) => Ok(true),
        Err(err) if is_not_found(&err) => Ok(false),
        Err(err) => Err(err.into()),
    }
}
