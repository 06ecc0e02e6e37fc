//! What an instance would run for a bundle: `Dockerrun.aws.json` v1/v2/v3 and
//! `docker-compose.yml` validated by the platform's rules (reference/eb-cli.md §3) and turned
//! into one `RunPlan`. Pure and sync; the failure texts are the events EB emits.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use serde_json::Value as Json;
use serde_norway::Value as Yaml;

/// The platform branch an environment runs, from its solution stack name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// "Docker running on Amazon Linux 2/2023": Dockerrun v1, or docker-compose.yml (+ v3 for auth).
    Docker,
    /// "ECS running on Amazon Linux 2/2023" (and the retired multi-container branch): Dockerrun v2.
    Ecs,
}

impl Platform {
    /// The platform a solution stack name selects (ECS if the name says so).
    pub fn from_stack(stack: &str) -> Platform {
        if stack.contains("ECS") || stack.contains("Multi-container") {
            Platform::Ecs
        } else {
            Platform::Docker
        }
    }
}

/// A bundle that cannot run; `event` is the ERROR event EB emits for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    /// The event message.
    pub event: String,
}

fn docker_invalid(file: &str, detail: impl std::fmt::Display) -> PlanError {
    PlanError {
        event: format!("{file} is invalid: {detail}, abort deployment"),
    }
}

fn ecs_invalid(detail: impl std::fmt::Display) -> PlanError {
    PlanError {
        event: format!("ECS Application sourcebundle validation error: {detail}"),
    }
}

const VERSION_INVALID: &str = "Invalid Dockerrun.aws.json version, abort deployment";
const BOTH_MISSING: &str = "Dockerfile and Dockerrun.aws.json are both missing, abort deployment";

/// Which file the plan came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleKind {
    /// Dockerrun v1: one container.
    V1,
    /// Dockerrun v2: ECS container definitions.
    V2,
    /// docker-compose.yml (with an optional v3 Dockerrun for auth).
    Compose,
}

/// The S3 object holding registry credentials (a docker `config.json` or `.dockercfg`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRef {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
}

/// Where a mount's host side comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountSource {
    /// A path inside the extracted bundle (`/var/app/current/...` or a compose `./path`).
    Bundle(PathBuf),
    /// Any other host path: a scratch directory of the environment, by a stable name.
    Scratch(String),
}

/// One bind mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The host side.
    pub source: MountSource,
    /// The path in the container.
    pub target: String,
    /// Read-only.
    pub read_only: bool,
}

/// One published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortSpec {
    /// The container port.
    pub container_port: u16,
    /// The host port the bundle asks for (the emulator maps it to a free loopback port).
    pub host_port: Option<u16>,
}

/// One container to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSpec {
    /// The name (v2 `name`, compose service name; `app` for v1).
    pub name: String,
    /// The image reference, as written.
    pub image: String,
    /// Environment variables.
    pub env: Vec<(String, String)>,
    /// Published ports.
    pub ports: Vec<PortSpec>,
    /// Links `(target container, alias)`.
    pub links: Vec<(String, String)>,
    /// Bind mounts.
    pub mounts: Vec<Mount>,
    /// Command override.
    pub command: Option<Vec<String>>,
    /// Entrypoint override.
    pub entrypoint: Option<Vec<String>>,
    /// Whether the deployment fails when this container is not running.
    pub essential: bool,
}

/// Where traffic enters: the container and port the proxy (or load balancer) forwards to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Container name.
    pub container: String,
    /// Container port.
    pub container_port: u16,
}

/// Everything needed to run a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPlan {
    /// The file it came from.
    pub kind: BundleKind,
    /// The containers, in start order (link targets first).
    pub containers: Vec<ContainerSpec>,
    /// The port the health probe uses.
    pub entry: Option<Entry>,
    /// Registry credentials to fetch from S3, if the bundle names some.
    pub auth: Option<AuthRef>,
}

/// The bundle's files that matter, read from the extracted directory.
#[derive(Debug, Default, Clone)]
pub struct BundleFiles {
    /// `Dockerrun.aws.json` at the root.
    pub dockerrun: Option<String>,
    /// `docker-compose.yml` (or `.yaml`) at the root.
    pub compose: Option<String>,
    /// Whether a `Dockerfile` is at the root.
    pub dockerfile: bool,
    /// `.env` at the root (compose interpolation and `env_file: .env`).
    pub dotenv: Option<String>,
}

impl BundleFiles {
    /// Read the root files of an extracted bundle.
    pub fn read(dir: &Path) -> BundleFiles {
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
        BundleFiles {
            dockerrun: read("Dockerrun.aws.json"),
            compose: read("docker-compose.yml").or_else(|| read("docker-compose.yaml")),
            dockerfile: dir.join("Dockerfile").is_file(),
            dotenv: read(".env"),
        }
    }
}

/// Validate the bundle for `platform` and plan its containers. `properties` are the
/// environment properties (`aws:elasticbeanstalk:application:environment`).
pub fn plan(
    files: &BundleFiles,
    platform: Platform,
    properties: &[(String, String)],
) -> Result<RunPlan, PlanError> {
    match platform {
        Platform::Ecs => {
            let Some(text) = &files.dockerrun else {
                return Err(ecs_invalid(
                    "Dockerrun.aws.json is missing from the source bundle",
                ));
            };
            let doc: Json = serde_json::from_str(text).map_err(ecs_invalid)?;
            match version(&doc) {
                Some(2) => v2(&doc, properties),
                other => Err(ecs_invalid(format!(
                    "Unsupported AWSEBDockerrunVersion: {}",
                    other.map_or_else(|| "null".to_owned(), |v| v.to_string())
                ))),
            }
        }
        Platform::Docker => {
            let doc = match &files.dockerrun {
                Some(text) => Some(serde_json::from_str::<Json>(text).map_err(|e| PlanError {
                    event: format!("Failed to parse Dockerrun JSON file: {e}, abort deployment"),
                })?),
                None => None,
            };
            if let Some(compose_text) = &files.compose {
                let auth = match &doc {
                    Some(doc) if version(doc) == Some(3) => auth_of(doc, "Dockerrun.aws.json")?,
                    Some(_) => {
                        return Err(PlanError {
                            event: VERSION_INVALID.into(),
                        });
                    }
                    None => None,
                };
                let mut plan = compose(compose_text, files.dotenv.as_deref(), properties)?;
                plan.auth = auth;
                return Ok(plan);
            }
            match doc {
                Some(doc) => match version(&doc) {
                    Some(1) if files.dockerfile => Err(docker_invalid(
                        "Dockerfile",
                        "building images on the instance is not supported by the emulator",
                    )),
                    Some(1) => v1(&doc, properties),
                    Some(3) => Err(docker_invalid(
                        "Dockerrun.aws.json",
                        "version 3 needs a docker-compose.yml beside it",
                    )),
                    _ => Err(PlanError {
                        event: VERSION_INVALID.into(),
                    }),
                },
                None if files.dockerfile => Err(docker_invalid(
                    "Dockerfile",
                    "building images on the instance is not supported by the emulator",
                )),
                None => Err(PlanError {
                    event: BOTH_MISSING.into(),
                }),
            }
        }
    }
}

/// `AWSEBDockerrunVersion` as a number, accepting `1`, `"1"`, `"1.0"` like the platforms do.
fn version(doc: &Json) -> Option<u64> {
    match doc.get("AWSEBDockerrunVersion")? {
        Json::Number(n) => n.as_u64(),
        Json::String(s) => s.trim().strip_suffix(".0").unwrap_or(s.trim()).parse().ok(),
        _ => None,
    }
}

/// `Authentication`/`authentication` with `Bucket`/`bucket` and `Key`/`key` (the docs mix casings).
fn auth_of(doc: &Json, file: &str) -> Result<Option<AuthRef>, PlanError> {
    let Some(auth) = doc
        .get("Authentication")
        .or_else(|| doc.get("authentication"))
    else {
        return Ok(None);
    };
    let field = |a: &str, b: &str| {
        auth.get(a)
            .or_else(|| auth.get(b))
            .and_then(Json::as_str)
            .map(str::to_owned)
    };
    match (field("Bucket", "bucket"), field("Key", "key")) {
        (Some(bucket), Some(key)) => Ok(Some(AuthRef { bucket, key })),
        _ => Err(docker_invalid(file, "Authentication needs Bucket and Key")),
    }
}

/// The elements of the array at `key`; none when absent or not an array.
fn items<'a>(value: &'a Json, key: &str) -> impl Iterator<Item = &'a Json> {
    value
        .get(key)
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
}

fn port_number(value: &Json) -> Option<u16> {
    match value {
        Json::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|p| *p > 0)
}

fn words(value: &Json) -> Option<Vec<String>> {
    match value {
        Json::String(s) => Some(s.split_whitespace().map(str::to_owned).collect()),
        Json::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    }
}

/// A host path under `/var/app/current` maps into the bundle; anything else gets scratch space.
fn host_source(path: &str) -> MountSource {
    let trimmed = path.trim_end_matches('/');
    match trimmed.strip_prefix("/var/app/current") {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            MountSource::Bundle(PathBuf::from(rest.trim_start_matches('/')))
        }
        _ => MountSource::Scratch(trimmed.to_owned()),
    }
}

fn v1(doc: &Json, properties: &[(String, String)]) -> Result<RunPlan, PlanError> {
    let file = "Dockerrun.aws.json";
    let image = doc
        .get("Image")
        .and_then(|i| i.get("Name"))
        .and_then(Json::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| docker_invalid(file, "Image.Name is required"))?;
    let ports = doc
        .get("Ports")
        .and_then(Json::as_array)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| docker_invalid(file, "Ports must list at least one ContainerPort"))?;
    // Only the first port is used: it is the one the nginx proxy forwards to.
    let container_port = ports[0]
        .get("ContainerPort")
        .and_then(port_number)
        .ok_or_else(|| docker_invalid(file, "Ports[0].ContainerPort must be a port number"))?;
    let mut mounts = Vec::new();
    for volume in items(doc, "Volumes") {
        let host = volume.get("HostDirectory").and_then(Json::as_str);
        let target = volume.get("ContainerDirectory").and_then(Json::as_str);
        let (Some(host), Some(target)) = (host, target) else {
            return Err(docker_invalid(
                file,
                "Volumes need HostDirectory and ContainerDirectory",
            ));
        };
        mounts.push(Mount {
            source: host_source(host),
            target: target.to_owned(),
            read_only: false,
        });
    }
    let container = ContainerSpec {
        name: "app".into(),
        image: image.trim().to_owned(),
        env: properties.to_vec(),
        ports: vec![PortSpec {
            container_port,
            host_port: Some(80),
        }],
        links: Vec::new(),
        mounts,
        command: doc.get("Command").and_then(words),
        entrypoint: doc.get("Entrypoint").and_then(words),
        essential: true,
    };
    Ok(RunPlan {
        kind: BundleKind::V1,
        containers: vec![container],
        entry: Some(Entry {
            container: "app".into(),
            container_port,
        }),
        auth: auth_of(doc, file)?,
    })
}

fn v2(doc: &Json, properties: &[(String, String)]) -> Result<RunPlan, PlanError> {
    let mut volumes = std::collections::BTreeMap::new();
    for volume in items(doc, "volumes") {
        let name = volume.get("name").and_then(Json::as_str);
        let Some(name) = name else {
            return Err(ecs_invalid("every volume needs a name"));
        };
        let source = match volume
            .get("host")
            .and_then(|h| h.get("sourcePath"))
            .and_then(Json::as_str)
        {
            Some(path) => host_source(path),
            None => MountSource::Scratch(format!("volume-{name}")),
        };
        volumes.insert(name.to_owned(), source);
    }
    let definitions = doc
        .get("containerDefinitions")
        .and_then(Json::as_array)
        .filter(|d| !d.is_empty())
        .ok_or_else(|| ecs_invalid("containerDefinitions must list at least one container"))?;
    let mut containers = Vec::new();
    let mut names = BTreeSet::new();
    for definition in definitions {
        let name = definition
            .get("name")
            .and_then(Json::as_str)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ecs_invalid("every container definition needs a name"))?;
        if !names.insert(name.to_owned()) {
            return Err(ecs_invalid(format!("duplicate container name '{name}'")));
        }
        let image = definition
            .get("image")
            .and_then(Json::as_str)
            .filter(|i| !i.trim().is_empty())
            .ok_or_else(|| ecs_invalid(format!("container '{name}' has no image")))?;
        let memory = |key: &str| definition.get(key).and_then(Json::as_u64).unwrap_or(0);
        if memory("memory") == 0 && memory("memoryReservation") == 0 {
            return Err(ecs_invalid(format!(
                "Invalid setting for container '{name}'. At least one of 'memory' or 'memoryReservation' must be specified."
            )));
        }
        let mut ports = Vec::new();
        for mapping in items(definition, "portMappings") {
            let container_port = mapping
                .get("containerPort")
                .and_then(port_number)
                .ok_or_else(|| {
                    ecs_invalid(format!(
                        "container '{name}' has a portMapping without containerPort"
                    ))
                })?;
            ports.push(PortSpec {
                container_port,
                host_port: mapping.get("hostPort").and_then(port_number),
            });
        }
        let mut links = Vec::new();
        for link in items(definition, "links") {
            let link = link.as_str().ok_or_else(|| {
                ecs_invalid(format!(
                    "container '{name}' has a link that is not a string"
                ))
            })?;
            let (target, alias) = link.split_once(':').unwrap_or((link, link));
            links.push((target.to_owned(), alias.to_owned()));
        }
        let mut mounts = Vec::new();
        for point in items(definition, "mountPoints") {
            let volume = point
                .get("sourceVolume")
                .and_then(Json::as_str)
                .unwrap_or_default();
            let target = point.get("containerPath").and_then(Json::as_str);
            let (Some(source), Some(target)) = (volumes.get(volume), target) else {
                return Err(ecs_invalid(format!(
                    "container '{name}' mounts unknown volume '{volume}' or has no containerPath"
                )));
            };
            mounts.push(Mount {
                source: source.clone(),
                target: target.to_owned(),
                read_only: point
                    .get("readOnly")
                    .and_then(Json::as_bool)
                    .unwrap_or(false),
            });
        }
        let mut env = properties.to_vec();
        for pair in items(definition, "environment") {
            let key = pair.get("name").and_then(Json::as_str);
            let Some(key) = key else {
                return Err(ecs_invalid(format!(
                    "container '{name}' has an environment entry without name"
                )));
            };
            let value = match pair.get("value") {
                Some(Json::String(s)) => s.clone(),
                Some(Json::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            env.retain(|(k, _)| k != key);
            env.push((key.to_owned(), value));
        }
        containers.push(ContainerSpec {
            name: name.to_owned(),
            image: image.trim().to_owned(),
            env,
            ports,
            links,
            mounts,
            command: definition.get("command").and_then(words),
            entrypoint: definition.get("entryPoint").and_then(words),
            essential: definition
                .get("essential")
                .and_then(Json::as_bool)
                .unwrap_or(true),
        });
    }
    for c in &containers {
        for (target, _) in &c.links {
            if !names.contains(target) {
                return Err(ecs_invalid(format!(
                    "container '{}' links to unknown container '{target}'",
                    c.name
                )));
            }
        }
    }
    if !containers.iter().any(|c| c.essential) {
        return Err(ecs_invalid("at least one container must be essential"));
    }
    let entry = entry_for(&containers);
    Ok(RunPlan {
        kind: BundleKind::V2,
        containers: start_order(containers),
        entry,
        auth: auth_of(doc, "Dockerrun.aws.json").map_err(|e| ecs_invalid(e.event))?,
    })
}

/// The container publishing host port 80 (what the load balancer hits), else the first
/// published port.
fn entry_for(containers: &[ContainerSpec]) -> Option<Entry> {
    let published = || {
        containers
            .iter()
            .flat_map(|c| c.ports.iter().map(move |p| (c, p)))
            .filter(|(_, p)| p.host_port.is_some())
    };
    published()
        .find(|(_, p)| p.host_port == Some(80))
        .or_else(|| published().next())
        .map(|(c, p)| Entry {
            container: c.name.clone(),
            container_port: p.container_port,
        })
}

/// Link targets before the containers that link to them (stable otherwise).
fn start_order(mut pending: Vec<ContainerSpec>) -> Vec<ContainerSpec> {
    let mut ordered: Vec<ContainerSpec> = Vec::new();
    while !pending.is_empty() {
        let ready = pending.iter().position(|c| {
            c.links.iter().all(|(t, _)| {
                ordered.iter().any(|o| &o.name == t)
                    || !pending.iter().any(|p| &p.name == t)
                    || t == &c.name
            })
        });
        // A cycle: take the first; networks make names resolvable in any order anyway.
        ordered.push(pending.remove(ready.unwrap_or(0)));
    }
    ordered
}

fn compose(
    text: &str,
    dotenv: Option<&str>,
    properties: &[(String, String)],
) -> Result<RunPlan, PlanError> {
    let file = "docker-compose.yml";
    let mut doc: Yaml = serde_norway::from_str(text).map_err(|e| docker_invalid(file, e))?;
    doc.apply_merge().map_err(|e| docker_invalid(file, e))?;
    // EB writes the environment properties to .env unless the bundle has one.
    let vars: Vec<(String, String)> = match dotenv {
        Some(text) => parse_dotenv(text),
        None => properties.to_vec(),
    };
    let services = doc
        .get("services")
        .and_then(Yaml::as_mapping)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| docker_invalid(file, "services must define at least one service"))?;
    let mut containers = Vec::new();
    for (name, service) in services {
        let name = name
            .as_str()
            .ok_or_else(|| docker_invalid(file, "service names must be strings"))?;
        if service.get("build").is_some() && service.get("image").is_none() {
            return Err(docker_invalid(
                file,
                format!("service '{name}' needs building, which the emulator does not do"),
            ));
        }
        let image = service
            .get("image")
            .and_then(scalar)
            .map(|i| interpolate(&i, &vars))
            .filter(|i| !i.trim().is_empty())
            .ok_or_else(|| docker_invalid(file, format!("service '{name}' has no image")))?;
        let mut env = Vec::new();
        for env_file in string_list(service.get("env_file")) {
            if env_file.trim_start_matches("./") == ".env" {
                env.extend(vars.iter().cloned());
            }
        }
        match service.get("environment") {
            Some(Yaml::Mapping(map)) => {
                for (k, v) in map {
                    if let Some(k) = k.as_str() {
                        env.retain(|(e, _)| e != k);
                        env.push((
                            k.to_owned(),
                            scalar(v)
                                .map(|v| interpolate(&v, &vars))
                                .unwrap_or_default(),
                        ));
                    }
                }
            }
            Some(Yaml::Sequence(items)) => {
                for item in items.iter().filter_map(scalar) {
                    let item = interpolate(&item, &vars);
                    let (k, v) = item.split_once('=').unwrap_or((&item, ""));
                    env.retain(|(e, _)| e != k);
                    env.push((k.to_owned(), v.to_owned()));
                }
            }
            _ => {}
        }
        let mut ports = Vec::new();
        for port in service
            .get("ports")
            .and_then(Yaml::as_sequence)
            .into_iter()
            .flatten()
        {
            ports.push(compose_port(port, &vars).ok_or_else(|| {
                docker_invalid(
                    file,
                    format!("service '{name}' has an invalid port {port:?}"),
                )
            })?);
        }
        let links = string_list(service.get("links"))
            .into_iter()
            .map(|l| {
                let (t, a) = l.split_once(':').unwrap_or((&l, &l));
                (t.to_owned(), a.to_owned())
            })
            .collect();
        let mut mounts = Vec::new();
        for volume in string_list(service.get("volumes")) {
            let parts: Vec<&str> = volume.split(':').collect();
            let (source, target, read_only) = match parts.as_slice() {
                [s, t] => (*s, *t, false),
                [s, t, mode] => (*s, *t, mode.split(',').any(|m| m == "ro")),
                // An anonymous volume: the container's own storage is enough.
                _ => continue,
            };
            let source = if source.starts_with("./") || source == "." {
                let rel = relative_inside(source).ok_or_else(|| {
                    docker_invalid(
                        file,
                        format!("service '{name}' mounts {source} outside the bundle"),
                    )
                })?;
                MountSource::Bundle(rel)
            } else if source.starts_with('/') {
                host_source(source)
            } else {
                MountSource::Scratch(format!("volume-{source}"))
            };
            mounts.push(Mount {
                source,
                target: target.to_owned(),
                read_only,
            });
        }
        containers.push(ContainerSpec {
            name: name.to_owned(),
            image: image.trim().to_owned(),
            env,
            ports,
            links,
            mounts,
            command: service.get("command").and_then(yaml_words),
            entrypoint: service.get("entrypoint").and_then(yaml_words),
            essential: true,
        });
    }
    let entry = entry_for(&containers);
    Ok(RunPlan {
        kind: BundleKind::Compose,
        containers: start_order(containers),
        entry,
        auth: None,
    })
}

fn scalar(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn string_list(value: Option<&Yaml>) -> Vec<String> {
    match value {
        Some(Yaml::Sequence(items)) => items.iter().filter_map(scalar).collect(),
        Some(other) => scalar(other).into_iter().collect(),
        None => Vec::new(),
    }
}

fn yaml_words(value: &Yaml) -> Option<Vec<String>> {
    match value {
        Yaml::String(s) => Some(s.split_whitespace().map(str::to_owned).collect()),
        Yaml::Sequence(items) => items.iter().map(scalar).collect(),
        _ => None,
    }
}

/// `"8000:80"`, `"127.0.0.1:8000:80"`, `"80"`, `80`, `"80/tcp"` or `{target, published}`.
fn compose_port(value: &Yaml, vars: &[(String, String)]) -> Option<PortSpec> {
    if value.is_mapping() {
        let get = |k: &str| value.get(k).and_then(scalar);
        return Some(PortSpec {
            container_port: get("target")?.parse().ok().filter(|p| *p > 0)?,
            host_port: get("published").and_then(|p| p.parse().ok()),
        });
    }
    let text = interpolate(&scalar(value)?, vars);
    let text = text.split('/').next().unwrap_or_default();
    let parts: Vec<&str> = text.split(':').collect();
    let (host, container) = match parts.as_slice() {
        [c] => (None, *c),
        [h, c] => (Some(*h), *c),
        [_, h, c] => (Some(*h), *c),
        _ => return None,
    };
    Some(PortSpec {
        container_port: container.parse().ok().filter(|p| *p > 0)?,
        host_port: match host {
            Some(h) => Some(h.parse().ok()?),
            None => None,
        },
    })
}

/// `./a/b` as `a/b`, refusing anything that climbs out of the bundle.
fn relative_inside(path: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in Path::new(path).components() {
        match part {
            Component::CurDir => {}
            Component::Normal(p) => out.push(p),
            _ => return None,
        }
    }
    Some(out)
}

/// `${VAR}`, `${VAR:-default}`, `${VAR-default}` and `$$`, from the `.env` values.
fn interpolate(text: &str, vars: &[(String, String)]) -> String {
    let lookup = |k: &str| {
        vars.iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    let mut out = String::new();
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('{')
            && let Some(end) = inner.find('}')
        {
            let expr = &inner[..end];
            let value = if let Some((name, default)) = expr.split_once(":-") {
                lookup(name)
                    .filter(|v| !v.is_empty())
                    .unwrap_or(default)
                    .to_owned()
            } else if let Some((name, default)) = expr.split_once('-') {
                lookup(name).unwrap_or(default).to_owned()
            } else {
                lookup(expr).unwrap_or_default().to_owned()
            };
            out.push_str(&value);
            rest = &inner[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// `KEY=value` lines; `#` comments; surrounding quotes removed.
fn parse_dotenv(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let l = l.strip_prefix("export ").unwrap_or(l);
            let (k, v) = l.split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v);
            Some((k.trim().to_owned(), v.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dockerrun: Option<&str>, compose: Option<&str>) -> BundleFiles {
        BundleFiles {
            dockerrun: dockerrun.map(str::to_owned),
            compose: compose.map(str::to_owned),
            ..BundleFiles::default()
        }
    }

    fn event(f: &BundleFiles, p: Platform) -> String {
        plan(f, p, &[]).expect_err("invalid").event
    }

    #[test]
    fn v1_uses_the_first_port_and_maps_current_into_the_bundle() {
        let f = files(
            Some(
                r#"{"AWSEBDockerrunVersion":"1","Image":{"Name":"r/app:1"},"Ports":[{"ContainerPort":"8080"},{"ContainerPort":9}],
                     "Volumes":[{"HostDirectory":"/var/app/current/static","ContainerDirectory":"/s"}],
                     "Authentication":{"Bucket":"b","Key":"k"}}"#,
            ),
            None,
        );
        let p = plan(&f, Platform::Docker, &[("A".into(), "1".into())]).expect("valid");
        assert_eq!(
            p.entry,
            Some(Entry {
                container: "app".into(),
                container_port: 8080
            })
        );
        assert_eq!(
            p.containers[0].mounts[0].source,
            MountSource::Bundle("static".into())
        );
        assert_eq!(p.containers[0].env, [("A".to_owned(), "1".to_owned())]);
        assert_eq!(
            p.auth,
            Some(AuthRef {
                bucket: "b".into(),
                key: "k".into()
            })
        );
    }

    #[test]
    fn each_platform_rejects_with_its_own_event() {
        let cases = [
            (files(None, None), Platform::Docker, BOTH_MISSING.to_owned()),
            (files(Some(r#"{"AWSEBDockerrunVersion":"7"}"#), None), Platform::Docker, VERSION_INVALID.to_owned()),
            (files(Some(r#"{"AWSEBDockerrunVersion":"1","Ports":[{"ContainerPort":1}]}"#), None), Platform::Docker,
             "Dockerrun.aws.json is invalid: Image.Name is required, abort deployment".to_owned()),
            (files(Some(r#"{"AWSEBDockerrunVersion":1,"Image":{"Name":"x"}}"#), None), Platform::Docker,
             "Dockerrun.aws.json is invalid: Ports must list at least one ContainerPort, abort deployment".to_owned()),
            (files(Some(r#"{"AWSEBDockerrunVersion":1,"Image":{"Name":"x"}}"#), None), Platform::Ecs,
             "ECS Application sourcebundle validation error: Unsupported AWSEBDockerrunVersion: 1".to_owned()),
            (files(Some(r#"{"AWSEBDockerrunVersion":2,"containerDefinitions":[{"name":"a","image":"x"}]}"#), None), Platform::Ecs,
             "ECS Application sourcebundle validation error: Invalid setting for container 'a'. At least one of 'memory' or 'memoryReservation' must be specified.".to_owned()),
            (files(None, Some("services: {}")), Platform::Docker,
             "docker-compose.yml is invalid: services must define at least one service, abort deployment".to_owned()),
        ];
        for (f, platform, expected) in cases {
            assert_eq!(event(&f, platform), expected, "{f:?}");
        }
        assert!(
            event(&files(Some("{nope"), None), Platform::Docker)
                .starts_with("Failed to parse Dockerrun JSON file: ")
        );
    }

    #[test]
    fn v2_orders_link_targets_first_and_enters_at_host_port_80() {
        let f = files(
            Some(
                r#"{"AWSEBDockerrunVersion":2,
              "volumes":[{"name":"www","host":{"sourcePath":"/var/app/current/www"}}],
              "containerDefinitions":[
                {"name":"proxy","image":"r/proxy","memory":64,"links":["app:backend"],"portMappings":[{"hostPort":80,"containerPort":8081}]},
                {"name":"app","image":"r/app","memory":64,"essential":false,"environment":[{"name":"K","value":"v"}],
                 "mountPoints":[{"sourceVolume":"www","containerPath":"/www","readOnly":true}]}]}"#,
            ),
            None,
        );
        let p = plan(&f, Platform::Ecs, &[]).expect("valid");
        let names: Vec<_> = p.containers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["app", "proxy"]);
        assert_eq!(
            p.entry,
            Some(Entry {
                container: "proxy".into(),
                container_port: 8081
            })
        );
        assert_eq!(
            p.containers[1].links,
            [("app".to_owned(), "backend".to_owned())]
        );
        assert!(p.containers[0].mounts[0].read_only);
    }

    #[test]
    fn compose_reads_ports_env_links_and_interpolates_dotenv() {
        let mut f = files(
            Some(r#"{"AWSEBDockerrunVersion":"3","Authentication":{"bucket":"b","key":"k"}}"#),
            Some(
                "services:\n  web:\n    image: \"r/web:${TAG:-1}\"\n    ports: [\"8000:80\", \"9000\"]\n    environment:\n      A: $${X}\n    env_file: .env\n    links: [db]\n  db:\n    image: r/db\n",
            ),
        );
        f.dotenv = Some("TAG=2\n# c\nB='x'\n".into());
        let p = plan(&f, Platform::Docker, &[]).expect("valid");
        assert_eq!(p.containers[0].name, "db");
        let web = &p.containers[1];
        assert_eq!(web.image, "r/web:2");
        assert!(web.env.contains(&("B".to_owned(), "x".to_owned())));
        assert!(web.env.contains(&("A".to_owned(), "${X}".to_owned())));
        assert_eq!(
            web.ports[0],
            PortSpec {
                container_port: 80,
                host_port: Some(8000)
            }
        );
        assert_eq!(
            p.auth,
            Some(AuthRef {
                bucket: "b".into(),
                key: "k".into()
            })
        );
    }
}
