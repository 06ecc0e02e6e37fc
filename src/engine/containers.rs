//! Containers: create from a plain [`ContainerSpec`], start, stop, remove, list by label,
//! inspect state and health, wait for the exit code.
//!
//! This module knows the Engine API, not compose files: `lifecycle::plan` turns a compose
//! service into a [`ContainerSpec`].

use std::collections::HashMap;
use std::time::Duration;

use bollard::Docker;
use bollard::models::{
    ContainerCreateBody, ContainerSummary, EndpointIpamConfig, EndpointSettings, HealthConfig,
    HealthStatusEnum, HostConfig, NetworkingConfig, PortBinding, RestartPolicy,
    RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};
use futures_util::StreamExt;
use serde::Serialize;

use super::EngineError;

/// Everything needed to create one container. Plain data, so the translation from a compose
/// service is pure and testable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ContainerSpec {
    /// The container name.
    pub name: String,
    /// The image reference (or id) to run.
    pub image: String,
    /// Overrides the image's `CMD` (`Some(vec![])` clears it).
    pub cmd: Option<Vec<String>>,
    /// Overrides the image's `ENTRYPOINT` (`Some(vec![])` clears it).
    pub entrypoint: Option<Vec<String>>,
    /// `KEY=VALUE` pairs, over the image's own environment.
    pub env: Vec<String>,
    /// The working directory.
    pub working_dir: Option<String>,
    /// The user to run as.
    pub user: Option<String>,
    /// The hostname.
    pub hostname: Option<String>,
    /// Container labels.
    pub labels: HashMap<String, String>,
    /// Allocate a TTY.
    pub tty: bool,
    /// Keep stdin open.
    pub stdin_open: bool,
    /// A client attaches to stdin (interactive one-off runs): stdin closes when it detaches.
    pub attach_stdin: bool,
    /// Ports exposed without publishing, `80/tcp`.
    pub exposed: Vec<String>,
    /// Published ports.
    pub ports: Vec<PublishedPort>,
    /// `source:target[:options]` bind mounts and named volumes.
    pub binds: Vec<String>,
    /// Anonymous volumes: container paths.
    pub anonymous_volumes: Vec<String>,
    /// tmpfs mounts: `path` or `path:options`.
    pub tmpfs: Vec<String>,
    /// `container[:ro]` whose volumes are mounted too.
    pub volumes_from: Vec<String>,
    /// The restart policy (`None`: Docker's default, `no`).
    pub restart: Option<RestartSpec>,
    /// The health check (`None`: the image's own).
    pub healthcheck: Option<HealthSpec>,
    /// The network joined at creation, with aliases and links.
    pub network: Option<NetworkAttachment>,
    /// Further networks, joined after creation (Docker takes one at creation on old APIs).
    pub extra_networks: Vec<NetworkAttachment>,
    /// Legacy links on the default bridge (`container:alias`), for containers on no network of
    /// their own, as docker-compose 1.x ran legacy v1 files.
    pub legacy_links: Vec<String>,
    /// Remove the container when it exits (one-off runs).
    pub auto_remove: bool,
    /// Capabilities, namespaces, resources, logging and the rest of `docker run`'s flags.
    pub host: super::host_options::HostOptions,
    /// The image platform (`linux/amd64`), when the service names one.
    pub platform: Option<String>,
}

/// One published port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishedPort {
    /// The container port.
    pub container_port: u16,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
    /// The host address (`None`: all).
    pub host_ip: Option<String>,
    /// The host port or range (`None`: Docker picks one).
    pub host_port: Option<String>,
}

/// A restart policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestartSpec {
    /// `no`, `always`, `on-failure` or `unless-stopped`.
    pub name: String,
    /// For `on-failure`: the most restarts (0: no limit).
    pub max_retries: u32,
}

/// A health check, in Docker's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthSpec {
    /// `["CMD", …]`, `["CMD-SHELL", "…"]`, `["NONE"]`, or empty to keep the image's test.
    pub test: Vec<String>,
    /// Between checks.
    pub interval: Option<Duration>,
    /// One check's limit.
    pub timeout: Option<Duration>,
    /// Failures before unhealthy.
    pub retries: Option<u32>,
    /// Grace period after start.
    pub start_period: Option<Duration>,
    /// Between checks during the grace period.
    pub start_interval: Option<Duration>,
}

/// Membership of one network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NetworkAttachment {
    /// The network's name.
    pub network: String,
    /// Extra hostnames of this container on the network.
    pub aliases: Vec<String>,
    /// Legacy links, `container:alias`: names only this container resolves.
    pub links: Vec<String>,
    /// A fixed IPv4 address on this network.
    pub ipv4_address: Option<String>,
    /// A fixed IPv6 address on this network.
    pub ipv6_address: Option<String>,
    /// Link-local addresses.
    pub link_local_ips: Vec<String>,
}

impl ContainerSpec {
    /// The Engine API's create body.
    pub fn to_create_body(&self) -> ContainerCreateBody {
        let mut exposed: Vec<String> = self.exposed.clone();
        let mut port_bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
        for port in &self.ports {
            let key = format!("{}/{}", port.container_port, port.protocol);
            if !exposed.contains(&key) {
                exposed.push(key.clone());
            }
            port_bindings
                .entry(key)
                .or_insert_with(|| Some(Vec::new()))
                .get_or_insert_with(Vec::new)
                .push(PortBinding {
                    host_ip: Some(port.host_ip.clone().unwrap_or_default()),
                    host_port: Some(port.host_port.clone().unwrap_or_default()),
                });
        }
        let tmpfs: HashMap<String, String> = self
            .tmpfs
            .iter()
            .map(|entry| match entry.split_once(':') {
                Some((path, options)) => (path.to_owned(), options.to_owned()),
                None => (entry.clone(), String::new()),
            })
            .collect();
        let host_config = HostConfig {
            binds: non_empty(self.binds.clone()),
            port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
            restart_policy: self.restart.as_ref().map(|r| RestartPolicy {
                name: Some(restart_name(&r.name)),
                maximum_retry_count: Some(i64::from(r.max_retries)),
            }),
            volumes_from: non_empty(self.volumes_from.clone()),
            links: non_empty(self.legacy_links.clone()),
            tmpfs: (!tmpfs.is_empty()).then_some(tmpfs),
            auto_remove: self.auto_remove.then_some(true),
            network_mode: self.network.as_ref().map(|n| n.network.clone()),
            ..Default::default()
        };
        let networking_config = self.network.as_ref().map(|n| NetworkingConfig {
            endpoints_config: Some(HashMap::from([(n.network.clone(), endpoint(n))])),
        });
        let mut body = ContainerCreateBody {
            image: Some(self.image.clone()),
            cmd: self.cmd.clone(),
            entrypoint: self.entrypoint.clone(),
            env: non_empty(self.env.clone()),
            working_dir: self.working_dir.clone(),
            user: self.user.clone(),
            hostname: self.hostname.clone(),
            labels: Some(self.labels.clone()),
            tty: Some(self.tty),
            open_stdin: Some(self.stdin_open),
            stdin_once: Some(self.attach_stdin),
            attach_stdin: Some(self.attach_stdin),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            exposed_ports: non_empty(exposed),
            volumes: non_empty(self.anonymous_volumes.clone()),
            healthcheck: self.healthcheck.as_ref().map(health_config),
            host_config: Some(host_config),
            networking_config,
            ..Default::default()
        };
        self.host.apply(&mut body);
        body
    }
}

fn non_empty<T>(items: Vec<T>) -> Option<Vec<T>> {
    (!items.is_empty()).then_some(items)
}

fn endpoint(attachment: &NetworkAttachment) -> EndpointSettings {
    let fixed = attachment.ipv4_address.is_some()
        || attachment.ipv6_address.is_some()
        || !attachment.link_local_ips.is_empty();
    EndpointSettings {
        aliases: non_empty(attachment.aliases.clone()),
        links: non_empty(attachment.links.clone()),
        ipam_config: fixed.then(|| EndpointIpamConfig {
            ipv4_address: attachment.ipv4_address.clone(),
            ipv6_address: attachment.ipv6_address.clone(),
            link_local_ips: non_empty(attachment.link_local_ips.clone()),
        }),
        ..Default::default()
    }
}

fn restart_name(name: &str) -> RestartPolicyNameEnum {
    match name {
        "always" => RestartPolicyNameEnum::ALWAYS,
        "unless-stopped" => RestartPolicyNameEnum::UNLESS_STOPPED,
        "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
        _ => RestartPolicyNameEnum::NO,
    }
}

/// Docker counts health-check times in nanoseconds.
fn nanos(duration: Option<Duration>) -> Option<i64> {
    duration.map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

fn health_config(spec: &HealthSpec) -> HealthConfig {
    HealthConfig {
        test: non_empty(spec.test.clone()),
        interval: nanos(spec.interval),
        timeout: nanos(spec.timeout),
        retries: spec.retries.map(i64::from),
        start_period: nanos(spec.start_period),
        start_interval: nanos(spec.start_interval),
    }
}

/// A container as listed: enough to plan, report and select.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerInfo {
    /// The full id.
    pub id: String,
    /// The name, without Docker's leading `/`.
    pub name: String,
    /// Its labels.
    pub labels: HashMap<String, String>,
    /// `created`, `running`, `exited`, …
    pub state: String,
    /// Docker's human status, e.g. `Up 3 minutes (healthy)`.
    pub status: String,
    /// The image reference it was created with.
    pub image: String,
    /// The image id it runs.
    pub image_id: String,
    /// Creation time, Unix seconds.
    pub created: i64,
    /// Published ports: `(host_ip, host_port, container_port, protocol)`.
    pub ports: Vec<(String, u16, u16, String)>,
}

impl ContainerInfo {
    /// Whether it is running (or restarting).
    pub fn is_running(&self) -> bool {
        matches!(self.state.as_str(), "running" | "restarting")
    }

    /// The value of label `key`, or "".
    pub fn label(&self, key: &str) -> &str {
        self.labels.get(key).map_or("", String::as_str)
    }
}

fn info_of(summary: ContainerSummary) -> ContainerInfo {
    let name = summary
        .names
        .and_then(|names| names.into_iter().next())
        .map(|n| n.trim_start_matches('/').to_owned())
        .unwrap_or_default();
    ContainerInfo {
        id: summary.id.unwrap_or_default(),
        name,
        labels: summary.labels.unwrap_or_default(),
        state: summary.state.map(|s| s.to_string()).unwrap_or_default(),
        status: summary.status.unwrap_or_default(),
        image: summary.image.unwrap_or_default(),
        image_id: summary.image_id.unwrap_or_default(),
        created: summary.created.unwrap_or_default(),
        ports: summary
            .ports
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| {
                p.public_port.map(|public| {
                    (
                        p.ip.unwrap_or_default(),
                        public,
                        p.private_port,
                        p.typ.map(|t| t.to_string()).unwrap_or_else(|| "tcp".into()),
                    )
                })
            })
            .collect(),
    }
}

/// Containers (running or not) carrying every `key=value` label of `labels`.
pub async fn list(
    docker: &Docker,
    labels: &[(String, String)],
) -> Result<Vec<ContainerInfo>, EngineError> {
    let filters = super::label_filter(labels);
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    let mut found: Vec<ContainerInfo> = docker
        .list_containers(Some(options))
        .await?
        .into_iter()
        .map(info_of)
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// Create a container; returns its id.
pub async fn create(docker: &Docker, spec: &ContainerSpec) -> Result<String, EngineError> {
    let mut options = CreateContainerOptionsBuilder::default().name(&spec.name);
    if let Some(platform) = &spec.platform {
        options = options.platform(platform);
    }
    let options = options.build();
    let created = docker
        .create_container(Some(options), spec.to_create_body())
        .await?;
    for extra in &spec.extra_networks {
        super::networks::connect(docker, &extra.network, &created.id, endpoint(extra)).await?;
    }
    Ok(created.id)
}

/// Start a created or stopped container (a running one is left alone).
pub async fn start(docker: &Docker, id: &str) -> Result<(), EngineError> {
    Ok(docker.start_container(id, None).await?)
}

/// Stop a container, giving it `grace` before it is killed (already stopped: nothing to do).
pub async fn stop(docker: &Docker, id: &str, grace: Duration) -> Result<(), EngineError> {
    let seconds = i32::try_from(grace.as_secs()).unwrap_or(i32::MAX);
    let options = StopContainerOptionsBuilder::default().t(seconds).build();
    match docker.stop_container(id, Some(options)).await {
        Ok(()) => Ok(()),
        Err(err) if is_not_found(&err) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// Send `signal` (e.g. `SIGTERM`) to a running container, as `docker run` forwards the signals
/// it receives (gone or stopped already: nothing to do).
pub async fn kill(docker: &Docker, id: &str, signal: &str) -> Result<(), EngineError> {
    let options = bollard::query_parameters::KillContainerOptionsBuilder::default()
        .signal(signal)
        .build();
    match docker.kill_container(id, Some(options)).await {
        Ok(()) => Ok(()),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404 | 409,
            ..
        }) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// Remove a container, running or not, with its anonymous volumes (gone already: fine).
pub async fn remove(docker: &Docker, id: &str) -> Result<(), EngineError> {
    let options = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    match docker.remove_container(id, Some(options)).await {
        Ok(()) => Ok(()),
        // 404: gone; 409: already being removed (auto-remove).
        Err(err) if is_not_found(&err) || is_conflict(&err) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// Whether `err` is the daemon's 404.
pub fn is_not_found(err: &bollard::errors::Error) -> bool {
    matches!(
        err,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

fn is_conflict(err: &bollard::errors::Error) -> bool {
    matches!(
        err,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 409,
            ..
        }
    )
}

/// A container's state, from inspect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerState {
    /// `created`, `running`, `exited`, …
    pub status: String,
    /// `healthy`, `unhealthy`, `starting`, or `None` without a health check.
    pub health: Option<String>,
    /// The exit code, once exited.
    pub exit_code: Option<i64>,
    /// When it started (RFC 3339), empty when never started.
    pub started_at: String,
    /// The last health-check outputs, newest last.
    pub health_log: Vec<String>,
}

/// Inspect a container's state.
pub async fn state(docker: &Docker, id: &str) -> Result<ContainerState, EngineError> {
    let inspected = docker.inspect_container(id, None).await?;
    let state = inspected.state.unwrap_or_default();
    let health = state.health.as_ref().and_then(|h| h.status).and_then(|s| {
        (!matches!(s, HealthStatusEnum::EMPTY | HealthStatusEnum::NONE)).then(|| s.to_string())
    });
    let health_log = state
        .health
        .as_ref()
        .and_then(|h| h.log.clone())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|entry| entry.output.map(|o| o.trim().to_owned()))
        .collect();
    Ok(ContainerState {
        status: state.status.map(|s| s.to_string()).unwrap_or_default(),
        health,
        exit_code: state.exit_code,
        started_at: state.started_at.unwrap_or_default(),
        health_log,
    })
}

/// Wait until the container exits; its exit code. bollard reports a non-zero exit as an
/// error (`DockerContainerWaitError`), which is an answer here, not a failure.
pub async fn wait(docker: &Docker, id: &str) -> Result<i64, EngineError> {
    let mut stream = docker.wait_container(id, None);
    let mut code = 0;
    while let Some(item) = stream.next().await {
        match item {
            Ok(response) => code = response.status_code,
            Err(bollard::errors::Error::DockerContainerWaitError { code: exit, .. }) => {
                code = exit;
            }
            // Auto-removed before we asked: the caller falls back to what it saw.
            Err(err) if is_not_found(&err) => break,
            Err(err) => return Err(err.into()),
        }
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_create_body_carries_ports_mounts_and_networks() {
        let spec = ContainerSpec {
            name: "p-web-1".into(),
            image: "nginx".into(),
            env: vec!["A=1".into()],
            exposed: vec!["3000/tcp".into()],
            ports: vec![
                PublishedPort {
                    container_port: 80,
                    protocol: "tcp".into(),
                    host_ip: None,
                    host_port: Some("8080".into()),
                },
                PublishedPort {
                    container_port: 80,
                    protocol: "tcp".into(),
                    host_ip: Some("127.0.0.1".into()),
                    host_port: None,
                },
            ],
            binds: vec!["/src:/app:ro".into()],
            anonymous_volumes: vec!["/data".into()],
            restart: Some(RestartSpec {
                name: "on-failure".into(),
                max_retries: 3,
            }),
            network: Some(NetworkAttachment {
                network: "p_default".into(),
                aliases: vec!["web".into()],
                links: vec!["p-db-1:db".into()],
                ..Default::default()
            }),
            ..Default::default()
        };
        let body = spec.to_create_body();
        let exposed = body.exposed_ports.clone().unwrap_or_default();
        assert!(exposed.contains(&"80/tcp".to_owned()), "{exposed:?}");
        assert!(exposed.contains(&"3000/tcp".to_owned()), "{exposed:?}");
        let host = body.host_config.clone().unwrap_or_default();
        let bindings = host
            .port_bindings
            .unwrap_or_default()
            .remove("80/tcp")
            .flatten()
            .unwrap_or_default();
        assert_eq!(bindings.len(), 2);
        assert_eq!(bindings[0].host_port.as_deref(), Some("8080"));
        assert_eq!(bindings[1].host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(host.binds, Some(vec!["/src:/app:ro".to_owned()]));
        assert_eq!(host.network_mode.as_deref(), Some("p_default"));
        let policy = host.restart_policy.unwrap_or_default();
        assert_eq!(policy.name, Some(RestartPolicyNameEnum::ON_FAILURE));
        assert_eq!(policy.maximum_retry_count, Some(3));
        let endpoint = body
            .networking_config
            .and_then(|n| n.endpoints_config)
            .and_then(|mut e| e.remove("p_default"))
            .unwrap_or_default();
        assert_eq!(endpoint.links, Some(vec!["p-db-1:db".to_owned()]));
        assert_eq!(body.volumes, Some(vec!["/data".to_owned()]));
    }
}
