//! Networks: created once per environment (and per declared network), found by label,
//! removed by `down`.

use std::collections::HashMap;

use bollard::Docker;
use bollard::models::{EndpointSettings, NetworkConnectRequest, NetworkCreateRequest};
use bollard::query_parameters::ListNetworksOptionsBuilder;

use super::EngineError;
use super::containers::is_not_found;

/// What to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSpec {
    /// The network's name.
    pub name: String,
    /// The driver (`None`: Docker's default, `bridge`).
    pub driver: Option<String>,
    /// Labels that say whose it is.
    pub labels: HashMap<String, String>,
}

/// Create the network unless one of that name exists; `true` when it was created.
pub async fn ensure(docker: &Docker, spec: &NetworkSpec) -> Result<bool, EngineError> {
    if exists(docker, &spec.name).await? {
        return Ok(false);
    }
    let request = NetworkCreateRequest {
        name: spec.name.clone(),
        driver: spec.driver.clone(),
        labels: Some(spec.labels.clone()),
        ..Default::default()
    };
    match docker.create_network(request).await {
        Ok(_) => Ok(true),
        // Created by someone else between our look and our create.
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 409, ..
        }) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// Whether a network named `name` exists.
pub async fn exists(docker: &Docker, name: &str) -> Result<bool, EngineError> {
    match docker.inspect_network(name, None).await {
        // Docker matches ids and id prefixes too; only an exact name counts.
        Ok(network) => Ok(network.name.as_deref() == Some(name)),
        Err(err) if is_not_found(&err) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// Names of the networks carrying every `key=value` label of `labels`.
pub async fn list(
    docker: &Docker,
    labels: &[(String, String)],
) -> Result<Vec<String>, EngineError> {
    let filters = super::label_filter(labels);
    let options = ListNetworksOptionsBuilder::default()
        .filters(&filters)
        .build();
    let mut names: Vec<String> = docker
        .list_networks(Some(options))
        .await?
        .into_iter()
        .filter_map(|n| n.name)
        .collect();
    names.sort();
    Ok(names)
}

/// Remove a network (gone already: fine).
pub async fn remove(docker: &Docker, name: &str) -> Result<(), EngineError> {
    match docker.remove_network(name).await {
        Ok(()) => Ok(()),
        Err(err) if is_not_found(&err) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// Attach container `id` to `network`.
pub(super) async fn connect(
    docker: &Docker,
    network: &str,
    id: &str,
    endpoint: EndpointSettings,
) -> Result<(), EngineError> {
    let request = NetworkConnectRequest {
        container: id.to_owned(),
        endpoint_config: Some(endpoint),
    };
    Ok(docker.connect_network(network, request).await?)
}
