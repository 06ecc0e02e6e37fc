//! Networks: created once per environment (and per declared network), found by label,
//! removed by `down`.

use std::collections::HashMap;

use bollard::Docker;
use bollard::models::{EndpointSettings, NetworkConnectRequest, NetworkCreateRequest};
use bollard::query_parameters::ListNetworksOptionsBuilder;

use super::EngineError;
use super::containers::is_not_found;

/// What to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkSpec {
    /// The network's name.
    pub name: String,
    /// The driver (`None`: Docker's default, `bridge`).
    pub driver: Option<String>,
    /// Labels that say whose it is (and the file's own).
    pub labels: HashMap<String, String>,
    /// Driver options.
    pub options: HashMap<String, String>,
    /// No route to the outside.
    pub internal: bool,
    /// Other containers may join.
    pub attachable: bool,
    /// IPv6 addressing.
    pub enable_ipv6: bool,
    /// Address management (`None`: Docker picks a subnet).
    pub ipam: Option<bollard::models::Ipam>,
}

/// Create the network unless one of that name exists; `true` when it was created.
///
/// The Engine (API 1.41) lets several networks share a name, so two `start` racing each other
/// used to create two; the environment lock now serialises them, and duplicates left by older
/// runs are repaired here: the oldest is kept, the others removed (see [`repair_duplicates`]).
pub async fn ensure(docker: &Docker, spec: &NetworkSpec) -> Result<bool, EngineError> {
    let created = if by_name(docker, &spec.name).await?.is_empty() {
        let request = NetworkCreateRequest {
            name: spec.name.clone(),
            driver: spec.driver.clone(),
            labels: Some(spec.labels.clone()),
            options: (!spec.options.is_empty()).then(|| spec.options.clone()),
            internal: spec.internal.then_some(true),
            attachable: spec.attachable.then_some(true),
            enable_ipv6: spec.enable_ipv6.then_some(true),
            ipam: spec.ipam.clone(),
            ..Default::default()
        };
        match docker.create_network(request).await {
            Ok(_) => true,
            // Created by someone else between our look and our create.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409, ..
            }) => false,
            Err(err) => return Err(err.into()),
        }
    } else {
        false
    };
    let env = spec
        .labels
        .get(super::labels::ENVIRONMENT)
        .or_else(|| spec.labels.get(super::labels::compose::PROJECT))
        .cloned()
        .unwrap_or_else(|| spec.name.clone());
    repair_duplicates(docker, &spec.name, &env).await?;
    Ok(created)
}

/// Ids of the networks named exactly `name`, oldest first.
async fn by_name(docker: &Docker, name: &str) -> Result<Vec<String>, EngineError> {
    let filters = HashMap::from([("name".to_owned(), vec![name.to_owned()])]);
    let options = ListNetworksOptionsBuilder::default()
        .filters(&filters)
        .build();
    // The name filter matches substrings; only the exact name counts.
    let mut found: Vec<(String, String)> = docker
        .list_networks(Some(options))
        .await?
        .into_iter()
        .filter(|n| n.name.as_deref() == Some(name))
        .filter_map(|n| Some((n.created.unwrap_or_default(), n.id?)))
        .collect();
    found.sort();
    Ok(found.into_iter().map(|(_, id)| id).collect())
}

/// Keep the oldest network named `name` and remove the others; returns how many were removed.
/// An extra one that still has containers attached stops with
/// [`EngineError::DuplicateNetwork`] (removing it would cut those containers off).
pub async fn repair_duplicates(
    docker: &Docker,
    name: &str,
    env: &str,
) -> Result<usize, EngineError> {
    let ids = by_name(docker, name).await?;
    let mut removed = 0;
    for id in ids.iter().skip(1) {
        match docker.remove_network(id).await {
            Ok(()) => removed += 1,
            Err(err) if is_not_found(&err) => {}
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 403, ..
            }) => {
                return Err(EngineError::DuplicateNetwork {
                    name: name.to_owned(),
                    count: ids.len(),
                    env: env.to_owned(),
                });
            }
            Err(err) => return Err(err.into()),
        }
    }
    Ok(removed)
}

/// Whether a network named `name` exists.
pub async fn exists(docker: &Docker, name: &str) -> Result<bool, EngineError> {
    Ok(!by_name(docker, name).await?.is_empty())
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
    names.dedup();
    Ok(names)
}

/// Remove every network named `name` (duplicates included: removing by name fails on an
/// ambiguous name, which let `down` report success while leaving both); gone already: fine.
pub async fn remove(docker: &Docker, name: &str) -> Result<(), EngineError> {
    for id in by_name(docker, name).await? {
        match docker.remove_network(&id).await {
            Ok(()) => {}
            Err(err) if is_not_found(&err) => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(())
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
