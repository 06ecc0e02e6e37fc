//! The typed compose model: what a compose file means once every short form is expanded,
//! every path resolved and every variable interpolated.
//!
//! `Serialize` gives the normalised JSON view used by the conformance table and by
//! [`Service::config_hash`]; fields that are empty or unset are left out so adding a field later
//! does not change the hash of services that don't use it.

use std::path::PathBuf;
use std::time::Duration;

use indexmap::IndexMap;
use serde::{Serialize, Serializer};

/// Which of the two compose dialects a file is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Legacy v1: services at the top level, `dockerfile:` beside `build:`, no named
    /// volume or network declarations.
    V1,
    /// The Compose specification (`services:` at the top level; `version:` optional).
    Spec,
}

/// A loaded, validated compose file.
#[derive(Debug, Clone, Serialize)]
pub struct ComposeFile {
    /// The file it was read from.
    pub path: PathBuf,
    /// The dialect it was written in.
    pub format: Format,
    /// The top-level `name:` (the Compose project name), if set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The services, in file order.
    pub services: IndexMap<String, Service>,
    /// Top-level network declarations.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub networks: IndexMap<String, NetworkDef>,
    /// Top-level named volume declarations.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub volumes: IndexMap<String, VolumeDef>,
    /// Top-level secret declarations (used by `build.secrets`).
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub secrets: IndexMap<String, SecretDef>,
    /// Things that did not stop loading but deserve a look: unknown or unsupported keys, unset
    /// variables. Each names the file and line.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The line of each service's key, for messages about the model after loading.
    #[serde(skip)]
    pub(crate) lines: IndexMap<String, usize>,
}

/// One service: the recipe for one container.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Service {
    /// The image to run (or the tag to give the built image when `build` is set too).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// How to build the image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<Build>,
    /// Overrides the image's `CMD`. `Some(vec![])` clears it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Overrides the image's `ENTRYPOINT`. `Some(vec![])` clears it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// `environment:` as written: `None` for a bare `KEY`, to be taken from the variables.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub environment: IndexMap<String, Option<String>>,
    /// `env_file:` entries, paths resolved.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env_file: Vec<EnvFile>,
    /// What the container gets: the env files in order, then `environment` over them, bare keys
    /// filled from the variable source (and dropped when it has none), as Compose does.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub resolved_environment: IndexMap<String, String>,
    /// Published ports, one entry per container port (ranges expanded).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PortMapping>,
    /// Ports exposed to other containers only, ranges expanded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expose: Vec<ExposedPort>,
    /// Mounts: bind mounts, named and anonymous volumes, tmpfs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Mount>,
    /// Containers or services whose volumes this one mounts too.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes_from: Vec<VolumesFrom>,
    /// Legacy links to other services of the file.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    /// Links to containers started elsewhere.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub external_links: Vec<ExternalLink>,
    /// Services to start first, and what "started" has to mean for each.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub depends_on: IndexMap<String, Condition>,
    /// The container's health check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    /// The working directory inside the container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// The user (name or uid, optionally `:group`) to run as.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The restart policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<Restart>,
    /// Container labels.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub labels: IndexMap<String, String>,
    /// Allocate a TTY.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tty: bool,
    /// Keep stdin open.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stdin_open: bool,
    /// A fixed container name instead of the generated one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    /// The container's hostname.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Networks to join, with per-network aliases.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub networks: IndexMap<String, ServiceNetwork>,
    /// The profiles that enable this service (none: always enabled).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
    /// Everything else the container is made with: capabilities, namespaces, resources,
    /// logging, secrets and configs (see [`super::runtime`]).
    #[serde(flatten)]
    pub runtime: super::runtime::Runtime,
}

/// How to build a service's image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Build {
    /// The build context directory, absolute (resolved against the compose file's directory).
    pub context: PathBuf,
    /// The Dockerfile, relative to the context unless absolute (default `Dockerfile`).
    pub dockerfile: PathBuf,
    /// Build arguments; `None` for a bare `ARG`, taken from the variables at build time.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub args: IndexMap<String, Option<String>>,
    /// The multi-stage target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Build secrets (`build.secrets`), each naming a top-level `secrets:` entry.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<BuildSecretRef>,
    /// SSH agent sockets to forward (`build.ssh`): `default` or `id=path`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ssh: Vec<String>,
    /// Images to use as cache sources (`build.cache_from`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cache_from: Vec<String>,
    /// The network of `RUN` steps (`build.network`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// `host:ip` entries added to `/etc/hosts` of `RUN` steps (`build.extra_hosts`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_hosts: Vec<String>,
    /// The size of `/dev/shm` of `RUN` steps, in bytes (`build.shm_size`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<u64>,
    /// Build without the cache (`build.no_cache`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_cache: bool,
    /// Always pull newer base images (`build.pull`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pull: bool,
    /// The platform to build for (the service's `platform`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
}

/// One `build.secrets` entry: the top-level secret `source`, visible to the build under the id
/// `target` (default: the same name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildSecretRef {
    /// The top-level secret.
    pub source: String,
    /// The id `RUN --mount=type=secret,id=…` uses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

impl BuildSecretRef {
    /// The id the build sees.
    pub fn id(&self) -> &str {
        self.target.as_deref().unwrap_or(&self.source)
    }
}

/// A top-level `secrets:` entry, as far as builds can use it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SecretDef {
    /// Read from this file (absolute).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// Read from this environment variable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
}

/// One `env_file:` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvFile {
    /// The file, absolute.
    pub path: PathBuf,
    /// When false, a missing file is skipped instead of being an error.
    pub required: bool,
}

/// A transport protocol of a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP (the default).
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl Protocol {
    /// The name Docker uses (`tcp`, `udp`, `sctp`).
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

/// The host side of a published port: one port, or a range Docker picks a free port from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostPort {
    /// First port of the range (the port itself when `start == end`).
    pub start: u16,
    /// Last port of the range, inclusive.
    pub end: u16,
}

impl HostPort {
    /// A single port.
    pub fn single(port: u16) -> Self {
        Self {
            start: port,
            end: port,
        }
    }
}

impl std::fmt::Display for HostPort {
    /// Docker's `HostPort` string: `8080` or `9000-9002`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.start == self.end {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}-{}", self.start, self.end)
        }
    }
}

impl Serialize for HostPort {
    /// A number for one port, `"a-b"` for a range.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.start == self.end {
            serializer.serialize_u16(self.start)
        } else {
            serializer.serialize_str(&self.to_string())
        }
    }
}

/// One published container port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortMapping {
    /// The host address to bind (all addresses when `None`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
    /// The host port; `None` lets Docker pick one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_port: Option<HostPort>,
    /// The port inside the container.
    pub container_port: u16,
    /// The protocol.
    pub protocol: Protocol,
}

/// One `expose:` port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExposedPort {
    /// The container port.
    pub port: u16,
    /// The protocol.
    pub protocol: Protocol,
}

/// What kind of mount a [`Mount`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MountKind {
    /// A host path.
    Bind,
    /// A named volume, or an anonymous one when it has no source.
    Volume,
    /// A tmpfs.
    Tmpfs,
}

/// One entry of a service's `volumes:`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mount {
    /// Bind, volume or tmpfs.
    pub kind: MountKind,
    /// Bind: the absolute host path (`~` expanded, relative paths resolved against the compose
    /// file's directory). Volume: its name, `None` for an anonymous volume. Tmpfs: `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The absolute path inside the container.
    pub target: String,
    /// Mounted read-only (`:ro`, `read_only: true`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    /// Other mode flags, passed through to Docker: `z`, `Z` (SELinux), `nocopy`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

/// Where a `volumes_from` entry takes volumes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VolumesFromSource {
    /// Another service of this file.
    Service(String),
    /// A container by name (`container:name`), not managed by this file.
    Container(String),
}

/// One `volumes_from:` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VolumesFrom {
    /// The service or container.
    pub source: VolumesFromSource,
    /// Mount them read-only (`:ro`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
}

/// One `links:` entry: `db` or `db:database`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    /// The linked service.
    pub service: String,
    /// The hostname it is reachable under, when not its own name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
}

/// One `external_links:` entry: `container` or `container:alias`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExternalLink {
    /// The container's name.
    pub container: String,
    /// The hostname it is reachable under, when not its own name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
}

/// When a dependency counts as ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// Its container has started (the list form's meaning).
    ServiceStarted,
    /// Its health check reports healthy.
    ServiceHealthy,
    /// It ran to completion with exit code 0.
    ServiceCompletedSuccessfully,
}

/// A container health check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Healthcheck {
    /// Docker's form: `["CMD", …]`, `["CMD-SHELL", "…"]`, or `["NONE"]`; a string `test`
    /// becomes `["CMD-SHELL", string]`. Empty when only timings are set (the image's test is
    /// kept).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub test: Vec<String>,
    /// Time between checks.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_duration"
    )]
    pub interval: Option<Duration>,
    /// How long one check may take.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_duration"
    )]
    pub timeout: Option<Duration>,
    /// Failures in a row before the container is unhealthy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// Grace period after start during which failures don't count.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_duration"
    )]
    pub start_period: Option<Duration>,
    /// Time between checks during the start period.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_duration"
    )]
    pub start_interval: Option<Duration>,
    /// Health checking is switched off (`disable: true` or `test: ["NONE"]`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub disable: bool,
}

/// Durations as Docker counts them: whole milliseconds, written `500ms` or `90s`.
pub(crate) fn serialize_duration<S: Serializer>(
    duration: &Option<Duration>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match duration {
        Some(d) if d.as_millis() % 1000 == 0 => {
            serializer.serialize_str(&format!("{}s", d.as_secs()))
        }
        Some(d) => serializer.serialize_str(&format!("{}ms", d.as_millis())),
        None => serializer.serialize_none(),
    }
}

/// A restart policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// Never restart.
    No,
    /// Always restart.
    Always,
    /// Restart when it exits non-zero, at most `n` times when given.
    OnFailure(Option<u32>),
    /// Always, unless it was stopped by the user.
    UnlessStopped,
}

impl std::fmt::Display for Restart {
    /// The form written in compose files and understood by Docker.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Restart::No => f.write_str("no"),
            Restart::Always => f.write_str("always"),
            Restart::OnFailure(None) => f.write_str("on-failure"),
            Restart::OnFailure(Some(n)) => write!(f, "on-failure:{n}"),
            Restart::UnlessStopped => f.write_str("unless-stopped"),
        }
    }
}

impl Serialize for Restart {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

/// A service's membership of one network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServiceNetwork {
    /// Extra hostnames for the service on this network.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// A fixed IPv4 address (the network needs an `ipam` subnet holding it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv4_address: Option<String>,
    /// A fixed IPv6 address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6_address: Option<String>,
    /// Link-local addresses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub link_local_ips: Vec<String>,
    /// Networks with a higher priority are joined first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
}

/// A top-level network declaration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NetworkDef {
    /// The network's real name, when it differs from the key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Created elsewhere; never created or removed by us.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
    /// The network driver.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Driver options.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub driver_opts: IndexMap<String, String>,
    /// No route to the outside.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub internal: bool,
    /// Containers outside the project may join.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub attachable: bool,
    /// IPv6 addressing.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub enable_ipv6: bool,
    /// Network labels.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub labels: IndexMap<String, String>,
    /// Address management.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipam: Option<Ipam>,
}

/// A network's `ipam:`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Ipam {
    /// The IPAM driver.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Subnets, each `{subnet, ip_range, gateway, aux_addresses}`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub config: Vec<IpamPool>,
    /// Driver options.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub options: IndexMap<String, String>,
}

/// One `ipam.config` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IpamPool {
    /// The subnet, CIDR.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    /// The range addresses are given from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<String>,
    /// The gateway.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// Addresses the driver must not hand out.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub aux_addresses: IndexMap<String, String>,
}

/// A top-level named volume declaration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VolumeDef {
    /// The volume's real name, when it differs from the key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Created elsewhere; never created or removed by us.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
    /// The volume driver.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Driver options.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub driver_opts: IndexMap<String, String>,
    /// Volume labels.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub labels: IndexMap<String, String>,
}
