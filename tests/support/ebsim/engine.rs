//! The "instance": pulls images from the loopback registry and runs a plan's containers through
//! the Docker Engine (bollard). Everything it creates carries the emulator's label, so cleanup
//! can find it even after a failed step.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, NetworkCreateRequest, NetworkingConfig,
    PortBinding,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, ListContainersOptionsBuilder,
    ListNetworksOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
    RemoveImageOptionsBuilder,
};
use futures_util::StreamExt;

use super::plan::{MountSource, RunPlan};
use super::registry::{Basic, ImageRef};
use super::state::PortMapping;
use super::{LABEL, lock};

const ENV_LABEL: &str = "org.stevedore.ebsim.environment";
const DEPLOYMENT_LABEL: &str = "org.stevedore.ebsim.deployment";

/// A connection to the engine, scoped to one emulator.
pub struct Engine {
    docker: Docker,
    sim_id: String,
    /// Image references this emulator pulled that were not present before.
    pulled: Mutex<Vec<String>>,
}

/// Where one deployment runs.
pub struct Target<'a> {
    /// Environment id (label and name part).
    pub env_id: &'a str,
    /// Deployment number (label and name part).
    pub deployment: u64,
    /// The extracted bundle (`/var/app/current`).
    pub app_dir: &'a Path,
    /// Scratch space for host paths outside the bundle.
    pub scratch_dir: &'a Path,
}

impl Engine {
    /// Connect and negotiate the API version (reference/rust-deps.md §1.1).
    pub async fn connect(sim_id: String) -> Result<Engine, String> {
        let docker = Docker::connect_with_local_defaults()
            .map_err(|e| format!("Docker Engine unreachable: {e}"))?
            .negotiate_version()
            .await
            .map_err(|e| format!("Docker Engine unreachable: {e}"))?;
        Ok(Engine {
            docker,
            sim_id,
            pulled: Mutex::new(Vec::new()),
        })
    }

    /// Pull `image` (as an instance would, even when present) with optional credentials.
    pub async fn pull(&self, image: &ImageRef, auth: Option<&Basic>) -> Result<(), String> {
        let reference = image.to_string();
        let present = self.docker.inspect_image(&reference).await.is_ok();
        let options = CreateImageOptionsBuilder::default()
            .from_image(&image.repository_with_host())
            .tag(image.reference())
            .build();
        let credentials = auth.map(|a| DockerCredentials {
            username: Some(a.username.clone()),
            password: Some(a.password.clone()),
            serveraddress: Some(image.host.clone()),
            ..Default::default()
        });
        let mut stream = self.docker.create_image(Some(options), None, credentials);
        while let Some(item) = stream.next().await {
            item.map_err(|e| format!("pulling {reference}: {e}"))?;
        }
        if !present {
            lock(&self.pulled).push(reference);
        }
        Ok(())
    }

    /// Create the network (for more than one container) and start every container of `plan`;
    /// the loopback ports published. On error the deployment's containers are left for
    /// [`Engine::remove_deployment`].
    pub async fn run(
        &self,
        plan: &RunPlan,
        target: &Target<'_>,
    ) -> Result<Vec<PortMapping>, String> {
        let prefix = format!(
            "ebsim-{}-{}-{}",
            self.sim_id, target.env_id, target.deployment
        );
        let labels = HashMap::from([
            (LABEL.to_owned(), self.sim_id.clone()),
            (ENV_LABEL.to_owned(), target.env_id.to_owned()),
            (DEPLOYMENT_LABEL.to_owned(), target.deployment.to_string()),
        ]);
        self.docker
            .create_network(NetworkCreateRequest {
                name: prefix.clone(),
                driver: Some("bridge".into()),
                labels: Some(labels.clone()),
                ..Default::default()
            })
            .await
            .map_err(|e| format!("creating network {prefix}: {e}"))?;
        let mut mappings = Vec::new();
        for spec in &plan.containers {
            let name = format!("{prefix}-{}", sanitize(&spec.name));
            // Link aliases live on the target: other containers reach it by them.
            let mut aliases = vec![spec.name.clone()];
            for other in &plan.containers {
                for (t, alias) in &other.links {
                    if t == &spec.name && !aliases.contains(alias) {
                        aliases.push(alias.clone());
                    }
                }
            }
            let mut binds = Vec::new();
            for mount in &spec.mounts {
                let host = match &mount.source {
                    MountSource::Bundle(rel) => target.app_dir.join(rel),
                    MountSource::Scratch(key) => {
                        let dir = target.scratch_dir.join(sanitize(key));
                        std::fs::create_dir_all(&dir)
                            .map_err(|e| format!("creating {}: {e}", dir.display()))?;
                        dir
                    }
                };
                if !host.exists() {
                    std::fs::create_dir_all(&host)
                        .map_err(|e| format!("creating {}: {e}", host.display()))?;
                }
                binds.push(format!(
                    "{}:{}{}",
                    host.display(),
                    mount.target,
                    if mount.read_only { ":ro" } else { "" }
                ));
            }
            let mut port_bindings = HashMap::new();
            let mut exposed = Vec::new();
            for port in &spec.ports {
                let key = format!("{}/tcp", port.container_port);
                exposed.push(key.clone());
                // Docker picks a free loopback port: no race with other tests.
                port_bindings.insert(
                    key,
                    Some(vec![PortBinding {
                        host_ip: Some("127.0.0.1".into()),
                        host_port: Some(String::new()),
                    }]),
                );
            }
            let body = ContainerCreateBody {
                image: Some(spec.image.clone()),
                env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
                cmd: spec.command.clone(),
                entrypoint: spec.entrypoint.clone(),
                exposed_ports: Some(exposed),
                labels: Some(labels.clone()),
                host_config: Some(HostConfig {
                    binds: Some(binds),
                    port_bindings: Some(port_bindings),
                    network_mode: Some(prefix.clone()),
                    ..Default::default()
                }),
                networking_config: Some(NetworkingConfig {
                    endpoints_config: Some(HashMap::from([(
                        prefix.clone(),
                        EndpointSettings {
                            aliases: Some(aliases),
                            ..Default::default()
                        },
                    )])),
                }),
                ..Default::default()
            };
            let options = CreateContainerOptionsBuilder::default().name(&name).build();
            self.docker
                .create_container(Some(options), body)
                .await
                .map_err(|e| format!("creating container {name} from {}: {e}", spec.image))?;
            self.docker
                .start_container(&name, None)
                .await
                .map_err(|e| format!("starting container {name}: {e}"))?;
            let inspect = self
                .docker
                .inspect_container(&name, None)
                .await
                .map_err(|e| format!("inspecting container {name}: {e}"))?;
            let published = inspect
                .network_settings
                .and_then(|n| n.ports)
                .unwrap_or_default();
            for port in &spec.ports {
                let host_port = published
                    .get(&format!("{}/tcp", port.container_port))
                    .and_then(|b| b.as_ref())
                    .and_then(|b| b.first())
                    .and_then(|b| b.host_port.as_deref())
                    .and_then(|p| p.parse::<u16>().ok());
                let Some(host_port) = host_port else {
                    // The container already exited; the health check reports it.
                    continue;
                };
                mappings.push(PortMapping {
                    container: spec.name.clone(),
                    container_port: port.container_port,
                    requested_host_port: port.host_port,
                    address: SocketAddr::from(([127, 0, 0, 1], host_port)),
                });
            }
        }
        Ok(mappings)
    }

    /// Names of the deployment's essential containers that are not running.
    pub async fn stopped(&self, plan: &RunPlan, env_id: &str, deployment: u64) -> Vec<String> {
        let prefix = format!("ebsim-{}-{env_id}-{deployment}", self.sim_id);
        let mut out = Vec::new();
        for spec in plan.containers.iter().filter(|c| c.essential) {
            let name = format!("{prefix}-{}", sanitize(&spec.name));
            let running = self
                .docker
                .inspect_container(&name, None)
                .await
                .ok()
                .and_then(|i| i.state)
                .and_then(|s| s.running)
                .unwrap_or(false);
            if !running {
                out.push(spec.name.clone());
            }
        }
        out
    }

    /// The last lines of every container of environment `env_id`, for tail logs.
    pub async fn logs(&self, env_id: &str) -> String {
        let mut out = String::new();
        for (id, name) in self.containers(Some(env_id)).await {
            out.push_str(&format!(
                "----- /var/log/eb-docker/containers/{name}/stdouterr.log -----\n"
            ));
            let options = LogsOptionsBuilder::default()
                .stdout(true)
                .stderr(true)
                .tail("100")
                .build();
            let mut stream = self.docker.logs(&id, Some(options));
            while let Some(Ok(chunk)) = stream.next().await {
                out.push_str(&chunk.to_string());
            }
        }
        out
    }

    /// Every line the environment's containers wrote, with its time: `(container, ms, line)`,
    /// oldest first per container (what the CloudWatch agent would ship).
    pub async fn log_lines(&self, env_id: &str) -> Vec<(String, i64, String)> {
        let mut out = Vec::new();
        for (id, name) in self.containers(Some(env_id)).await {
            let options = LogsOptionsBuilder::default()
                .stdout(true)
                .stderr(true)
                .timestamps(true)
                .build();
            let mut stream = self.docker.logs(&id, Some(options));
            let mut text = String::new();
            while let Some(Ok(chunk)) = stream.next().await {
                text.push_str(&chunk.to_string());
            }
            for line in text.lines() {
                let (stamp, message) = line.split_once(' ').unwrap_or((line, ""));
                let ms = aws_sdk_elasticbeanstalk::primitives::DateTime::from_str(
                    stamp,
                    aws_sdk_elasticbeanstalk::primitives::DateTimeFormat::DateTime,
                )
                .ok()
                .and_then(|t| t.to_millis().ok())
                .unwrap_or_else(super::state::now_ms);
                out.push((name.clone(), ms, message.to_owned()));
            }
        }
        out
    }

    /// Remove every container and the network of one deployment.
    pub async fn remove_deployment(&self, env_id: &str, deployment: u64) {
        let filter = format!("{DEPLOYMENT_LABEL}={deployment}");
        for (id, _) in self
            .containers_with(&[
                self.label(),
                format!("{ENV_LABEL}={env_id}"),
                filter.clone(),
            ])
            .await
        {
            self.remove_container(&id).await;
        }
        self.remove_networks(&[self.label(), format!("{ENV_LABEL}={env_id}"), filter])
            .await;
    }

    /// Remove every deployment of environment `env_id` but `keep` (all of them for `None`).
    pub async fn remove_environment_except(&self, env_id: &str, keep: Option<u64>) {
        let labels = [self.label(), format!("{ENV_LABEL}={env_id}")];
        let filters = HashMap::from([("label".to_owned(), labels.to_vec())]);
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let keep = keep.map(|k| k.to_string());
        let mut deployments = std::collections::BTreeSet::new();
        for container in self
            .docker
            .list_containers(Some(options))
            .await
            .unwrap_or_default()
        {
            let deployment = container
                .labels
                .as_ref()
                .and_then(|l| l.get(DEPLOYMENT_LABEL))
                .cloned();
            if deployment.is_some() && deployment != keep {
                deployments.insert(deployment.unwrap_or_default());
            }
        }
        for deployment in deployments {
            if let Ok(n) = deployment.parse() {
                self.remove_deployment(env_id, n).await;
            }
        }
    }

    /// Remove everything this emulator created: containers, networks, pulled images.
    pub async fn remove_everything(&self) {
        for (id, _) in self.containers(None).await {
            self.remove_container(&id).await;
        }
        self.remove_networks(&[self.label()]).await;
        let pulled = std::mem::take(&mut *lock(&self.pulled));
        for reference in pulled {
            let options = RemoveImageOptionsBuilder::default().build();
            let _ = self
                .docker
                .remove_image(&reference, Some(options), None)
                .await;
        }
    }

    fn label(&self) -> String {
        format!("{LABEL}={}", self.sim_id)
    }

    async fn containers(&self, env_id: Option<&str>) -> Vec<(String, String)> {
        let mut labels = vec![self.label()];
        if let Some(env_id) = env_id {
            labels.push(format!("{ENV_LABEL}={env_id}"));
        }
        self.containers_with(&labels).await
    }

    async fn containers_with(&self, labels: &[String]) -> Vec<(String, String)> {
        let filters = HashMap::from([("label".to_owned(), labels.to_vec())]);
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        self.docker
            .list_containers(Some(options))
            .await
            .unwrap_or_default()
            .into_iter()
            .filter_map(|c| {
                let name = c
                    .names
                    .and_then(|n| n.first().cloned())
                    .unwrap_or_default()
                    .trim_start_matches('/')
                    .to_owned();
                Some((c.id?, name))
            })
            .collect()
    }

    async fn remove_container(&self, id: &str) {
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        let _ = self.docker.remove_container(id, Some(options)).await;
    }

    async fn remove_networks(&self, labels: &[String]) {
        let filters = HashMap::from([("label".to_owned(), labels.to_vec())]);
        let options = ListNetworksOptionsBuilder::default()
            .filters(&filters)
            .build();
        for network in self
            .docker
            .list_networks(Some(options))
            .await
            .unwrap_or_default()
        {
            if let Some(id) = network.id {
                let _ = self.docker.remove_network(&id).await;
            }
        }
    }
}

/// A Docker-safe name part.
fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .trim_matches('_')
        .to_owned()
}

/// The directory for scratch host paths of an environment.
pub fn scratch_dir(workdir: &Path, env_id: &str) -> PathBuf {
    workdir.join(env_id).join("host")
}
