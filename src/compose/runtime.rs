//! The service keys that shape the running container beyond image, command, environment,
//! ports, mounts and networks: kernel capabilities, namespaces, resources, logging, secrets and
//! configs, and the rest of the Compose spec the Engine API can express.
//!
//! Every key of [`KEYS`] is either read into [`Runtime`] (and so honoured by `start`) or
//! refused with an error naming the file, the line and the reason; none is dropped with a
//! warning. Keys that only Swarm acts on (`deploy.placement`, `deploy.update_config`, …) are
//! accepted without effect, as Compose accepts them.

use std::path::PathBuf;
use std::time::Duration;

use indexmap::IndexMap;
use serde::{Serialize, Serializer};
use serde_norway::{Mapping, Value};

use super::duration;
use super::error::ComposeError;
use super::fields::{Cx, key_text, scalar_text, untag};
use super::paths;
use super::yaml::KeyPath;

/// The service keys this module reads (or refuses with a reason).
pub(crate) const KEYS: &[&str] = &[
    "annotations",
    "attach",
    "blkio_config",
    "cap_add",
    "cap_drop",
    "cgroup",
    "cgroup_parent",
    "configs",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "cpus",
    "cpuset",
    "credential_spec",
    "deploy",
    "develop",
    "device_cgroup_rules",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "domainname",
    "extra_hosts",
    "gpus",
    "group_add",
    "init",
    "ipc",
    "isolation",
    "label_file",
    "log_driver",
    "log_opt",
    "logging",
    "mac_address",
    "mem_limit",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "models",
    "net",
    "network_mode",
    "oom_kill_disable",
    "oom_score_adj",
    "pid",
    "pids_limit",
    "platform",
    "post_start",
    "pre_stop",
    "privileged",
    "provider",
    "pull_policy",
    "read_only",
    "runtime",
    "scale",
    "secrets",
    "security_opt",
    "shm_size",
    "stop_grace_period",
    "stop_signal",
    "storage_opt",
    "sysctls",
    "tmpfs",
    "ulimits",
    "use_api_socket",
    "userns_mode",
    "uts",
    "volume_driver",
];

/// Keys refused, with the reason given to the user (and in the README's table).
pub const REFUSED: &[(&str, &str)] = &[
    (
        "annotations",
        "container annotations need Engine API 1.43; stevedore speaks 1.41",
    ),
    (
        "credential_spec",
        "a Windows gMSA credential spec; stevedore runs Linux containers only",
    ),
    (
        "models",
        "AI models are provided by Docker Model Runner, which stevedore does not drive",
    ),
    (
        "post_start",
        "lifecycle hooks are run by Compose itself, not by the Engine",
    ),
    (
        "pre_stop",
        "lifecycle hooks are run by Compose itself, not by the Engine",
    ),
    (
        "provider",
        "provider services are run by Compose plugins, not by the Engine",
    ),
    (
        "use_api_socket",
        "it hands the Docker API socket and credentials to the container; mount \
         /var/run/docker.sock explicitly if that is what you want",
    ),
    (
        "mac_address",
        "a fixed MAC address is set per network from Engine API 1.44; stevedore speaks 1.41",
    ),
];

/// How the container's network namespace is set up, when not by `networks:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Namespace {
    /// A mode Docker knows by name: `host`, `none`, `bridge`, `private`, `shareable`, ….
    Mode(String),
    /// Another service's container (`service:<name>`).
    Service(String),
    /// A container by name (`container:<name>`), not managed by this file.
    Container(String),
}

impl std::fmt::Display for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Namespace::Mode(mode) => f.write_str(mode),
            Namespace::Service(service) => write!(f, "service:{service}"),
            Namespace::Container(container) => write!(f, "container:{container}"),
        }
    }
}

impl Serialize for Namespace {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl Namespace {
    /// The service it refers to, if any.
    pub fn service(&self) -> Option<&str> {
        match self {
            Namespace::Service(service) => Some(service),
            _ => None,
        }
    }
}

/// One `ulimits:` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Ulimit {
    /// The soft limit.
    pub soft: i64,
    /// The hard limit.
    pub hard: i64,
}

/// One `devices:` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    /// The device on the host.
    pub host: String,
    /// Where it appears in the container.
    pub container: String,
    /// cgroup permissions, e.g. `rwm`.
    pub permissions: String,
}

/// A request for devices a driver provides (GPUs): `gpus:` or
/// `deploy.resources.reservations.devices`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeviceRequest {
    /// The driver, e.g. `nvidia` (`None`: the one that has the capabilities).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// How many (`-1`: all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    /// Specific devices.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_ids: Vec<String>,
    /// What the devices must be able to do, e.g. `gpu`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<String>,
    /// Driver options.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub options: IndexMap<String, String>,
}

/// `blkio_config:`: block IO weight and limits (rates in bytes or operations per second).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Blkio {
    /// Relative weight, 10–1000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<u16>,
    /// Per-device weights, `(path, weight)`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub weight_device: Vec<(String, u16)>,
    /// Read bytes per second, `(path, rate)`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_read_bps: Vec<(String, i64)>,
    /// Write bytes per second.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_write_bps: Vec<(String, i64)>,
    /// Read operations per second.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_read_iops: Vec<(String, i64)>,
    /// Write operations per second.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_write_iops: Vec<(String, i64)>,
}

/// `logging:` (or the v1 `log_driver`/`log_opt`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Logging {
    /// The driver (`None`: the daemon's default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Driver options.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub options: IndexMap<String, String>,
}

/// Whether a [`FileMount`] is a secret or a config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    /// Under `secrets:`; mounted at `/run/secrets/<name>` unless a target is given.
    Secret,
    /// Under `configs:`; mounted at `/<name>` unless a target is given.
    Config,
}

/// A file-backed secret or config, mounted read-only into the container as Compose does
/// without Swarm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileMount {
    /// Secret or config.
    pub kind: FileKind,
    /// The top-level name.
    pub name: String,
    /// The host file, absolute.
    pub source: PathBuf,
    /// The absolute path in the container.
    pub target: String,
}

/// When `start` pulls a service's image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PullPolicy {
    /// Pull every time.
    Always,
    /// Never pull: the image must be there.
    Never,
    /// Pull when missing (the default).
    Missing,
    /// Build it (the service needs `build:`).
    Build,
}

/// Limits and weights of CPU, memory and processes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Resources {
    /// Hard memory limit, bytes (`mem_limit`, `deploy.resources.limits.memory`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<i64>,
    /// Soft memory reservation, bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<i64>,
    /// Memory plus swap, bytes (`-1`: unlimited).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_swap: Option<i64>,
    /// Swappiness, 0–100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_swappiness: Option<i64>,
    /// CPUs in billionths (`cpus: 1.5` is 1500000000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nano_cpus: Option<i64>,
    /// Relative CPU weight.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<i64>,
    /// CFS period, microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_period: Option<i64>,
    /// CFS quota, microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_quota: Option<i64>,
    /// Real-time period, microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_rt_period: Option<i64>,
    /// Real-time runtime, microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_rt_runtime: Option<i64>,
    /// CPUs the container may use, e.g. `0-2`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpuset: Option<String>,
    /// Windows: usable CPUs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_count: Option<i64>,
    /// Windows: usable CPU percentage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<i64>,
    /// Most processes (`-1`: unlimited).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<i64>,
    /// Do not kill on out-of-memory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oom_kill_disable: Option<bool>,
    /// OOM killer preference, -1000–1000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oom_score_adj: Option<i64>,
}

impl Resources {
    fn is_empty(&self) -> bool {
        *self == Resources::default()
    }
}

/// What a service asks of the container beyond the basics; every field is honoured by `start`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Runtime {
    /// Kernel capabilities added.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    /// Kernel capabilities dropped.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    /// `network_mode:` (or v1 `net:`): instead of the project's networks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<Namespace>,
    /// The PID namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<Namespace>,
    /// The IPC namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipc: Option<Namespace>,
    /// The UTS namespace (`host`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uts: Option<String>,
    /// The user namespace mode (`host`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userns_mode: Option<String>,
    /// The cgroup namespace (`host` or `private`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
    /// The parent cgroup.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup_parent: Option<String>,
    /// Kernel parameters.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub sysctls: IndexMap<String, String>,
    /// The signal that stops the container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// How long `stop` waits before it kills.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::model::serialize_duration"
    )]
    pub stop_grace_period: Option<Duration>,
    /// Resource limits of processes, by name (`nofile`, `nproc`, …).
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub ulimits: IndexMap<String, Ulimit>,
    /// Run an init process as PID 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init: Option<bool>,
    /// `/etc/hosts` entries, `host:ip`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_hosts: Vec<String>,
    /// DNS servers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<String>,
    /// DNS search domains.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns_search: Vec<String>,
    /// DNS resolver options.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns_opt: Vec<String>,
    /// The size of `/dev/shm`, bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<i64>,
    /// tmpfs mounts written under the service's `tmpfs:` key: `path` or `path:options`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tmpfs: Vec<String>,
    /// Host devices.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<Device>,
    /// cgroup device rules.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_cgroup_rules: Vec<String>,
    /// Driver devices (GPUs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_requests: Vec<DeviceRequest>,
    /// Block IO weight and limits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blkio: Option<Blkio>,
    /// Labels read from `label_file:` files, under the service's own `labels:`.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub file_labels: IndexMap<String, String>,
    /// Extended privileges.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub privileged: bool,
    /// A read-only root file system.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    /// Security options (`seccomp=…`, `no-new-privileges`, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_opt: Vec<String>,
    /// The NIS domain name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domainname: Option<String>,
    /// The logging driver and its options.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging: Option<Logging>,
    /// CPU, memory and process limits.
    #[serde(skip_serializing_if = "Resources::is_empty")]
    pub resources: Resources,
    /// Extra groups of the container's user.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_add: Vec<String>,
    /// The OCI runtime.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// Windows isolation technology.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub isolation: Option<String>,
    /// The driver of the service's anonymous and named volumes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_driver: Option<String>,
    /// Storage driver options.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub storage_opt: IndexMap<String, String>,
    /// File-backed secrets and configs, in file order (secrets first).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileMount>,
    /// When to pull the image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_policy: Option<PullPolicy>,
    /// The image platform, e.g. `linux/amd64`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// `attach: false`: `start` does not follow this service's logs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attach: Option<bool>,
    /// The restart policy from `deploy.restart_policy`, used when `restart:` is not set.
    #[serde(skip)]
    pub deploy_restart: Option<super::Restart>,
}

impl Runtime {
    /// Whether nothing is set (the container is made from the basic keys alone).
    pub fn is_empty(&self) -> bool {
        *self == Runtime::default()
    }

    /// The services this one needs to exist first (`service:` namespaces).
    pub fn service_references(&self) -> Vec<&str> {
        [&self.network_mode, &self.pid, &self.ipc]
            .into_iter()
            .filter_map(|ns| ns.as_ref().and_then(Namespace::service))
            .collect()
    }

    /// The compose keys in use, for formats that cannot express some of them.
    pub fn keys_in_use(&self) -> Vec<&'static str> {
        let r = &self.resources;
        let checks: [(&'static str, bool); 45] = [
            ("cap_add", !self.cap_add.is_empty()),
            ("cap_drop", !self.cap_drop.is_empty()),
            ("network_mode", self.network_mode.is_some()),
            ("pid", self.pid.is_some()),
            ("ipc", self.ipc.is_some()),
            ("uts", self.uts.is_some()),
            ("userns_mode", self.userns_mode.is_some()),
            ("cgroup", self.cgroup.is_some()),
            ("cgroup_parent", self.cgroup_parent.is_some()),
            ("sysctls", !self.sysctls.is_empty()),
            ("stop_signal", self.stop_signal.is_some()),
            ("stop_grace_period", self.stop_grace_period.is_some()),
            ("ulimits", !self.ulimits.is_empty()),
            ("init", self.init.is_some()),
            ("extra_hosts", !self.extra_hosts.is_empty()),
            ("dns", !self.dns.is_empty()),
            ("dns_search", !self.dns_search.is_empty()),
            ("dns_opt", !self.dns_opt.is_empty()),
            ("shm_size", self.shm_size.is_some()),
            ("tmpfs", !self.tmpfs.is_empty()),
            ("devices", !self.devices.is_empty()),
            ("device_cgroup_rules", !self.device_cgroup_rules.is_empty()),
            ("gpus", !self.device_requests.is_empty()),
            ("blkio_config", self.blkio.is_some()),
            ("privileged", self.privileged),
            ("read_only", self.read_only),
            ("security_opt", !self.security_opt.is_empty()),
            ("domainname", self.domainname.is_some()),
            ("logging", self.logging.is_some()),
            ("mem_limit", r.memory.is_some()),
            ("mem_reservation", r.memory_reservation.is_some()),
            ("memswap_limit", r.memory_swap.is_some()),
            ("mem_swappiness", r.memory_swappiness.is_some()),
            ("cpus", r.nano_cpus.is_some()),
            ("cpu_shares", r.cpu_shares.is_some()),
            (
                "cpu_period/cpu_quota/cpu_rt_*",
                r.cpu_period.is_some()
                    || r.cpu_quota.is_some()
                    || r.cpu_rt_period.is_some()
                    || r.cpu_rt_runtime.is_some(),
            ),
            ("cpuset", r.cpuset.is_some()),
            ("pids_limit", r.pids_limit.is_some()),
            ("oom_kill_disable", r.oom_kill_disable.is_some()),
            ("oom_score_adj", r.oom_score_adj.is_some()),
            ("group_add", !self.group_add.is_empty()),
            ("runtime", self.runtime.is_some()),
            ("storage_opt", !self.storage_opt.is_empty()),
            ("secrets/configs", !self.files.is_empty()),
            ("platform", self.platform.is_some()),
        ];
        checks
            .into_iter()
            .filter(|(_, used)| *used)
            .map(|(key, _)| key)
            .collect()
    }
}

/// A top-level `secrets:` or `configs:` entry that a service can mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileObject {
    /// The file, absolute.
    source: PathBuf,
}

/// The top-level `secrets:` and `configs:` declarations.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileObjects {
    secrets: IndexMap<String, FileObject>,
    configs: IndexMap<String, FileObject>,
    /// Declared from `environment`/`content`: usable by builds (BuildKit secrets), not mountable
    /// at runtime; by `(section, name)`, the reason a mount of it is refused.
    inline: IndexMap<(String, String), String>,
}

/// Read the top-level `secrets:` and `configs:`. Only file-backed ones can be mounted without
/// Swarm; the others are refused here, at their line.
pub(crate) fn file_objects(cx: &mut Cx<'_>, root: &Mapping) -> Result<FileObjects, ComposeError> {
    let mut out = FileObjects::default();
    for (section, kind) in [("secrets", FileKind::Secret), ("configs", FileKind::Config)] {
        let path = KeyPath::root().key(section);
        let map = match root.get(section).map(untag) {
            None | Some(Value::Null) => continue,
            Some(value) => cx.mapping(&path, value, "a mapping of names to `{file: <path>}`")?,
        };
        for (key, entry) in map {
            let name = key_text(key);
            let ep = path.key(&name);
            let long = cx.mapping(&ep, entry, "a mapping with `file: <path>`")?;
            cx.check_keys(
                &ep,
                long,
                &[
                    "file",
                    "name",
                    "external",
                    "environment",
                    "content",
                    "labels",
                    "driver",
                    "driver_opts",
                    "template_driver",
                ],
                &[],
            );
            for swarm in ["external", "driver", "driver_opts", "template_driver"] {
                if long
                    .get(swarm)
                    .is_some_and(|v| cx.bool(&ep, v).unwrap_or(true))
                {
                    return Err(cx.invalid(
                        &ep.key(swarm),
                        format!(
                            "`{swarm}` {section} live in a Swarm, which stevedore does not use"
                        ),
                        "`file: <path>` (a file beside the compose file, mounted read-only)",
                    ));
                }
            }
            // A build can take these (BuildKit secrets); a service that mounts one is refused.
            if let Some(inline) = ["environment", "content"]
                .into_iter()
                .find(|k| long.contains_key(*k))
            {
                let line = cx.source.locate(&ep.key(inline)).1;
                out.inline.insert(
                    (section.to_owned(), name),
                    format!(
                        "it is declared from `{inline}` (line {line}); {section} from `{inline}` \
                         cannot be mounted: stevedore mounts files, and would have to write this \
                         value to disk"
                    ),
                );
                continue;
            }
            let Some(raw) = cx.opt_string(&ep.key("file"), long.get("file"), "a file path")? else {
                return Err(cx.invalid(&ep, "it has no `file:`", "`file: <path>`"));
            };
            let home = (cx.vars)("HOME");
            let source = paths::resolve(cx.base_dir, &raw, home.as_deref())
                .map_err(|problem| cx.invalid(&ep.key("file"), problem, "a file path"))?;
            if cx.read_env_files && !source.exists() {
                return Err(cx.invalid(
                    &ep.key("file"),
                    format!("{} does not exist", source.display()),
                    "an existing file (Docker would mount an empty directory in its place)",
                ));
            }
            let object = FileObject { source };
            match kind {
                FileKind::Secret => out.secrets.insert(name, object),
                FileKind::Config => out.configs.insert(name, object),
            };
        }
    }
    Ok(out)
}

/// What a service's references are checked against.
pub(crate) struct RuntimeScope<'a> {
    /// Every service name of the file.
    pub(crate) services: &'a [String],
    /// Top-level secrets and configs.
    pub(crate) files: &'a FileObjects,
    /// Whether the file is the legacy v1 format.
    pub(crate) v1: bool,
}

/// Read runtime key `key` of a service into `rt`.
pub(crate) fn read(
    cx: &mut Cx<'_>,
    scope: &RuntimeScope<'_>,
    p: &KeyPath,
    key: &str,
    value: &Value,
    rt: &mut Runtime,
) -> Result<(), ComposeError> {
    if let Some((_, why)) = REFUSED.iter().find(|(k, _)| *k == key) {
        if untag(value).is_null() {
            return Ok(());
        }
        return Err(cx.invalid(
            p,
            format!("`{key}` is not supported by stevedore: {why}"),
            "the service without it",
        ));
    }
    let list = |cx: &Cx<'_>| cx.string_list(p, value, "a list of strings");
    match key {
        "cap_add" => rt.cap_add = list(cx)?,
        "cap_drop" => rt.cap_drop = list(cx)?,
        "device_cgroup_rules" => rt.device_cgroup_rules = list(cx)?,
        "security_opt" => rt.security_opt = list(cx)?,
        "group_add" => rt.group_add = list(cx)?,
        "dns" => rt.dns = one_or_list(cx, p, value)?,
        "dns_search" => rt.dns_search = one_or_list(cx, p, value)?,
        "dns_opt" => rt.dns_opt = list(cx)?,
        "tmpfs" => rt.tmpfs = tmpfs(cx, p, value)?,
        "network_mode" | "net" => {
            if rt.network_mode.is_some() {
                return Err(cx.invalid(
                    p,
                    "both `net` and `network_mode` are set",
                    "`network_mode` alone",
                ));
            }
            rt.network_mode = namespace(cx, scope, p, value, &["bridge", "host", "none"])?;
        }
        "pid" => rt.pid = namespace(cx, scope, p, value, &["host"])?,
        "ipc" => {
            rt.ipc = namespace(
                cx,
                scope,
                p,
                value,
                &["host", "private", "shareable", "none"],
            )?
        }
        "uts" => rt.uts = choice(cx, p, value, &["host"])?,
        "userns_mode" => rt.userns_mode = choice(cx, p, value, &["host"])?,
        "cgroup" => rt.cgroup = choice(cx, p, value, &["host", "private"])?,
        "cgroup_parent" => rt.cgroup_parent = text(cx, p, value)?,
        "sysctls" => rt.sysctls = filled(cx, p, value)?,
        "storage_opt" => rt.storage_opt = filled(cx, p, value)?,
        "stop_signal" => rt.stop_signal = text(cx, p, value)?,
        "stop_grace_period" => rt.stop_grace_period = duration_of(cx, p, value)?,
        "ulimits" => rt.ulimits = ulimits(cx, p, value)?,
        "init" => rt.init = Some(cx.bool(p, value)?),
        "extra_hosts" => rt.extra_hosts = extra_hosts(cx, p, value)?,
        "shm_size" => rt.shm_size = size(cx, p, value)?,
        "devices" => rt.devices = devices(cx, p, value)?,
        "privileged" => rt.privileged = cx.bool(p, value)?,
        "read_only" => rt.read_only = cx.bool(p, value)?,
        "domainname" => rt.domainname = text(cx, p, value)?,
        "logging" => rt.logging = logging(cx, p, value)?,
        "log_driver" => {
            rt.logging.get_or_insert_with(Logging::default).driver = text(cx, p, value)?;
        }
        "log_opt" => {
            let options = filled(cx, p, value)?;
            rt.logging.get_or_insert_with(Logging::default).options = options;
        }
        "mem_limit" => set_once(cx, p, &mut rt.resources.memory, size(cx, p, value)?)?,
        "mem_reservation" => set_once(
            cx,
            p,
            &mut rt.resources.memory_reservation,
            size(cx, p, value)?,
        )?,
        "memswap_limit" => rt.resources.memory_swap = size_or_unlimited(cx, p, value)?,
        "mem_swappiness" => rt.resources.memory_swappiness = int(cx, p, value)?,
        "cpus" => set_once(cx, p, &mut rt.resources.nano_cpus, cpus(cx, p, value)?)?,
        "cpu_shares" => rt.resources.cpu_shares = int(cx, p, value)?,
        "cpu_period" => rt.resources.cpu_period = micros(cx, p, value)?,
        "cpu_quota" => rt.resources.cpu_quota = micros(cx, p, value)?,
        "cpu_rt_period" => rt.resources.cpu_rt_period = micros(cx, p, value)?,
        "cpu_rt_runtime" => rt.resources.cpu_rt_runtime = micros(cx, p, value)?,
        "cpuset" => rt.resources.cpuset = text(cx, p, value)?,
        "cpu_count" => rt.resources.cpu_count = int(cx, p, value)?,
        "cpu_percent" => rt.resources.cpu_percent = int(cx, p, value)?,
        "pids_limit" => set_once(cx, p, &mut rt.resources.pids_limit, int(cx, p, value)?)?,
        "oom_kill_disable" => rt.resources.oom_kill_disable = Some(cx.bool(p, value)?),
        "oom_score_adj" => rt.resources.oom_score_adj = int(cx, p, value)?,
        "runtime" => rt.runtime = text(cx, p, value)?,
        "isolation" => {
            rt.isolation = choice(cx, p, value, &["default", "process", "hyperv"])?;
        }
        "volume_driver" => rt.volume_driver = text(cx, p, value)?,
        "secrets" => {
            let mounts = file_mounts(cx, scope, p, value, FileKind::Secret)?;
            rt.files.splice(0..0, mounts);
        }
        "configs" => {
            let mounts = file_mounts(cx, scope, p, value, FileKind::Config)?;
            rt.files.extend(mounts);
        }
        "pull_policy" => rt.pull_policy = pull_policy(cx, p, value)?,
        "platform" => rt.platform = text(cx, p, value)?,
        "attach" => rt.attach = Some(cx.bool(p, value)?),
        "scale" => {
            let scale = cx.u32(p, value)?;
            if scale != 1 {
                return Err(one_container(cx, p, scale));
            }
        }
        "deploy" => deploy(cx, p, value, rt)?,
        // `develop:` drives `docker compose watch`; like `docker compose up` without `--watch`,
        // `start` does not act on it, and it does not change the container.
        "develop" => {}
        "gpus" => rt.device_requests.extend(gpus(cx, p, value)?),
        "blkio_config" => rt.blkio = blkio(cx, p, value)?,
        "label_file" => rt.file_labels = label_files(cx, p, value)?,
        other => {
            return Err(cx.invalid(
                p,
                format!("`{other}` is not read by this version of stevedore"),
                "the service without it",
            ));
        }
    }
    Ok(())
}

fn one_container(cx: &Cx<'_>, p: &KeyPath, count: u32) -> ComposeError {
    cx.invalid(
        p,
        format!("{count} containers are asked for; stevedore runs exactly one per service"),
        "1 (or leave it out)",
    )
}

fn set_once<T: PartialEq + std::fmt::Debug>(
    cx: &Cx<'_>,
    p: &KeyPath,
    slot: &mut Option<T>,
    value: Option<T>,
) -> Result<(), ComposeError> {
    match (&slot, value) {
        (_, None) => Ok(()),
        (Some(old), Some(new)) if *old != new => Err(cx.invalid(
            p,
            format!("it says {new:?} where another key of the service already says {old:?}"),
            "one value (`deploy.resources.limits` and the service-level key must agree)",
        )),
        (_, new) => {
            *slot = new;
            Ok(())
        }
    }
}

fn text(cx: &Cx<'_>, p: &KeyPath, value: &Value) -> Result<Option<String>, ComposeError> {
    match cx.opt_string(p, Some(value), "a string")? {
        Some(text) if text.trim().is_empty() => {
            Err(cx.invalid(p, "the value is empty", "a non-empty string"))
        }
        other => Ok(other),
    }
}

fn choice(
    cx: &Cx<'_>,
    p: &KeyPath,
    value: &Value,
    allowed: &[&str],
) -> Result<Option<String>, ComposeError> {
    let Some(text) = text(cx, p, value)? else {
        return Ok(None);
    };
    if allowed.contains(&text.as_str()) {
        Ok(Some(text))
    } else {
        Err(cx.invalid(
            p,
            format!("`{text}` is not a value of this key"),
            allowed
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(" or "),
        ))
    }
}

fn one_or_list(cx: &Cx<'_>, p: &KeyPath, value: &Value) -> Result<Vec<String>, ComposeError> {
    match untag(value) {
        Value::Sequence(_) | Value::Null => cx.string_list(p, value, "a string or a list"),
        other => Ok(vec![cx.string(p, other, "a string or a list")?]),
    }
}

fn tmpfs(cx: &Cx<'_>, p: &KeyPath, value: &Value) -> Result<Vec<String>, ComposeError> {
    let entries = one_or_list(cx, p, value)?;
    for (i, entry) in entries.iter().enumerate() {
        if !entry.starts_with('/') {
            return Err(cx.invalid(
                &p.index(i),
                format!("`{entry}` is not an absolute container path"),
                "`/path` or `/path:options` (e.g. `/run:size=64m`)",
            ));
        }
    }
    Ok(entries)
}

/// A "list or dictionary" whose entries must all have values.
fn filled(
    cx: &Cx<'_>,
    p: &KeyPath,
    value: &Value,
) -> Result<IndexMap<String, String>, ComposeError> {
    cx.dictionary(p, value)?
        .into_iter()
        .map(|(k, v)| match v {
            Some(v) => Ok((k, v)),
            None => Err(cx.invalid(
                &p.key(&k),
                format!("`{k}` has no value"),
                "`key=value` or `key: value`",
            )),
        })
        .collect()
}

fn namespace(
    cx: &Cx<'_>,
    scope: &RuntimeScope<'_>,
    p: &KeyPath,
    value: &Value,
    modes: &[&str],
) -> Result<Option<Namespace>, ComposeError> {
    let Some(text) = text(cx, p, value)? else {
        return Ok(None);
    };
    let expected = || {
        let mut out: Vec<String> = modes.iter().map(|m| format!("`{m}`")).collect();
        out.push("`service:<name>`".into());
        out.push("`container:<name>`".into());
        out.join(", ")
    };
    if let Some(service) = text.strip_prefix("service:") {
        if !scope.services.iter().any(|s| s == service) {
            return Err(cx.invalid(
                p,
                format!("`{service}` is not a service of this file"),
                expected(),
            ));
        }
        return Ok(Some(Namespace::Service(service.to_owned())));
    }
    // v1 files wrote `net: container:<name>` for both services and containers.
    if let Some(container) = text.strip_prefix("container:") {
        if container.is_empty() {
            return Err(cx.invalid(p, "the container name is empty", expected()));
        }
        if scope.v1 && scope.services.iter().any(|s| s == container) {
            return Ok(Some(Namespace::Service(container.to_owned())));
        }
        return Ok(Some(Namespace::Container(container.to_owned())));
    }
    if modes.contains(&text.as_str()) {
        Ok(Some(Namespace::Mode(text)))
    } else {
        Err(cx.invalid(p, format!("`{text}` is not a mode of this key"), expected()))
    }
}

fn duration_of(cx: &Cx<'_>, p: &KeyPath, value: &Value) -> Result<Option<Duration>, ComposeError> {
    const EXPECTED: &str = "a duration like `30s`, `1m30s` or `500ms`";
    match cx.opt_string(p, Some(value), EXPECTED)? {
        None => Ok(None),
        Some(text) => duration::parse(&text)
            .map(Some)
            .map_err(|problem| cx.invalid(p, problem, EXPECTED)),
    }
}

fn int(cx: &Cx<'_>, p: &KeyPath, value: &Value) -> Result<Option<i64>, ComposeError> {
    if untag(value).is_null() {
        return Ok(None);
    }
    scalar_text(value)
        .and_then(|s| s.trim().parse::<i64>().ok())
        .map(Some)
        .ok_or_else(|| cx.wrong(p, value, "a whole number"))
}

/// CPU periods: microseconds as a number, or a duration (`100ms`).
fn micros(cx: &Cx<'_>, p: &KeyPath, value: &Value) -> Result<Option<i64>, ComposeError> {
    const EXPECTED: &str = "microseconds as a number, or a duration like `100ms`";
    let Some(text) = cx.opt_string(p, Some(value), EXPECTED)? else {
        return Ok(None);
    };
    if let Ok(n) = text.trim().parse::<i64>() {
        return Ok(Some(n));
    }
    duration::parse(&text)
        .map(|d| Some(i64::try_from(d.as_micros()).unwrap_or(i64::MAX)))
        .map_err(|problem| cx.invalid(p, problem, EXPECTED))
}

fn cpus(cx: &Cx<'_>, p: &KeyPath, value: &Value) -> Result<Option<i64>, ComposeError> {
    const EXPECTED: &str = "a number of CPUs, e.g. `0.5` or `2`";
    let Some(text) = cx.opt_string(p, Some(value), EXPECTED)? else {
        return Ok(None);
    };
    match text.trim().parse::<f64>() {
        // Whole billionths: the rounding Docker's own CLI does.
        Ok(n) if n.is_finite() && n >= 0.0 => Ok(Some((n * 1e9).round() as i64)),
        _ => Err(cx.invalid(p, format!("`{text}` is not a number"), EXPECTED)),
    }
}

/// Byte sizes as Docker reads them (`RAMInBytes`): `512m`, `1g`, `1.5gb`, `2048k`, bytes.
pub(crate) fn bytes(text: &str) -> Option<i64> {
    let lower = text.trim().to_ascii_lowercase();
    let end = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(end);
    let number: f64 = number.parse().ok()?;
    let factor: f64 = match unit.trim().trim_end_matches(['b', 'i']) {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let total = number * factor;
    (0.0..9.0e18).contains(&total).then_some(total as i64)
}

fn size(cx: &Cx<'_>, p: &KeyPath, value: &Value) -> Result<Option<i64>, ComposeError> {
    const EXPECTED: &str = "a size like `512m`, `1g` or a number of bytes";
    let Some(text) = cx.opt_string(p, Some(value), EXPECTED)? else {
        return Ok(None);
    };
    bytes(&text)
        .map(Some)
        .ok_or_else(|| cx.invalid(p, format!("`{text}` is not a size"), EXPECTED))
}

fn size_or_unlimited(cx: &Cx<'_>, p: &KeyPath, value: &Value) -> Result<Option<i64>, ComposeError> {
    if scalar_text(value).is_some_and(|t| t.trim() == "-1") {
        return Ok(Some(-1));
    }
    size(cx, p, value)
}

fn ulimits(
    cx: &mut Cx<'_>,
    p: &KeyPath,
    value: &Value,
) -> Result<IndexMap<String, Ulimit>, ComposeError> {
    const EXPECTED: &str = "a number, or `{soft: <number>, hard: <number>}`";
    let map = cx.mapping(p, value, "a mapping of limit names to values")?;
    let mut out = IndexMap::new();
    for (key, entry) in map {
        let name = key_text(key);
        let ep = p.key(&name);
        let limit = match untag(entry) {
            Value::Mapping(long) => {
                cx.check_keys(&ep, long, &["soft", "hard"], &[]);
                let get = |k: &str| match long.get(k) {
                    Some(v) => int(cx, &ep.key(k), v),
                    None => Err(cx.invalid(&ep, format!("`{k}` is missing"), EXPECTED)),
                };
                let (soft, hard) = (get("soft")?, get("hard")?);
                match (soft, hard) {
                    (Some(soft), Some(hard)) => Ulimit { soft, hard },
                    _ => return Err(cx.invalid(&ep, "a limit is empty", EXPECTED)),
                }
            }
            other => match int(cx, &ep, other)? {
                Some(n) => Ulimit { soft: n, hard: n },
                None => return Err(cx.invalid(&ep, "the limit is empty", EXPECTED)),
            },
        };
        out.insert(name, limit);
    }
    Ok(out)
}

fn extra_hosts(cx: &Cx<'_>, p: &KeyPath, value: &Value) -> Result<Vec<String>, ComposeError> {
    const EXPECTED: &str = "a list of `host:ip` (or `host=ip`), or a mapping of host: ip";
    let mut out = Vec::new();
    match untag(value) {
        Value::Mapping(map) => {
            for (key, entry) in map {
                let host = key_text(key);
                let ep = p.key(&host);
                let ips = match untag(entry) {
                    Value::Sequence(_) => cx.string_list(&ep, entry, EXPECTED)?,
                    other => vec![cx.string(&ep, other, EXPECTED)?],
                };
                out.extend(ips.into_iter().map(|ip| format!("{host}:{ip}")));
            }
        }
        _ => {
            for (i, entry) in cx.string_list(p, value, EXPECTED)?.into_iter().enumerate() {
                // `host=ip` is the newer form; Docker's own is `host:ip` (IPv6 has colons).
                let entry = match entry.split_once('=') {
                    Some((host, ip)) => format!("{host}:{ip}"),
                    None => entry,
                };
                if !entry.contains(':') {
                    return Err(cx.invalid(
                        &p.index(i),
                        format!("`{entry}` has no address"),
                        EXPECTED,
                    ));
                }
                out.push(entry);
            }
        }
    }
    Ok(out)
}

fn devices(cx: &mut Cx<'_>, p: &KeyPath, value: &Value) -> Result<Vec<Device>, ComposeError> {
    const EXPECTED: &str = "`/dev/host[:/dev/container[:permissions]]`, or \
                            `{source: …, target: …, permissions: …}`";
    let mut out = Vec::new();
    for (i, item) in cx.list(p, value, EXPECTED)?.iter().enumerate() {
        let ip = p.index(i);
        let device = match untag(item) {
            Value::Mapping(long) => {
                cx.check_keys(&ip, long, &["source", "target", "permissions"], &[]);
                let Some(host) = cx.opt_string(&ip.key("source"), long.get("source"), EXPECTED)?
                else {
                    return Err(cx.invalid(&ip, "the long form has no `source`", EXPECTED));
                };
                let container = cx
                    .opt_string(&ip.key("target"), long.get("target"), EXPECTED)?
                    .unwrap_or_else(|| host.clone());
                let permissions = cx
                    .opt_string(&ip.key("permissions"), long.get("permissions"), EXPECTED)?
                    .unwrap_or_else(|| "rwm".to_owned());
                Device {
                    host,
                    container,
                    permissions,
                }
            }
            other => {
                let text = cx.string(&ip, other, EXPECTED)?;
                if !text.starts_with('/') {
                    return Err(cx.invalid(
                        &ip,
                        format!(
                            "`{text}` is not a device path (CDI device names are not supported)"
                        ),
                        EXPECTED,
                    ));
                }
                let parts: Vec<&str> = text.split(':').collect();
                let is_perms =
                    |s: &str| !s.is_empty() && s.chars().all(|c| matches!(c, 'r' | 'w' | 'm'));
                let (host, container, permissions) = match parts.as_slice() {
                    [host] => (*host, *host, "rwm"),
                    [host, perms] if is_perms(perms) => (*host, *host, *perms),
                    [host, container] => (*host, *container, "rwm"),
                    [host, container, perms] if is_perms(perms) => (*host, *container, *perms),
                    _ => {
                        return Err(cx.invalid(&ip, format!("`{text}` is not a device"), EXPECTED));
                    }
                };
                Device {
                    host: host.to_owned(),
                    container: container.to_owned(),
                    permissions: permissions.to_owned(),
                }
            }
        };
        out.push(device);
    }
    Ok(out)
}

fn logging(cx: &mut Cx<'_>, p: &KeyPath, value: &Value) -> Result<Option<Logging>, ComposeError> {
    let map = match untag(value) {
        Value::Null => return Ok(None),
        other => cx.mapping(p, other, "a mapping with `driver` and `options`")?,
    };
    cx.check_keys(p, map, &["driver", "options"], &[]);
    Ok(Some(Logging {
        driver: match map.get("driver") {
            Some(v) => text(cx, &p.key("driver"), v)?,
            None => None,
        },
        options: match map.get("options") {
            Some(v) => filled(cx, &p.key("options"), v)?,
            None => IndexMap::new(),
        },
    }))
}

fn pull_policy(
    cx: &Cx<'_>,
    p: &KeyPath,
    value: &Value,
) -> Result<Option<PullPolicy>, ComposeError> {
    let Some(text) = text(cx, p, value)? else {
        return Ok(None);
    };
    let policy = match text.as_str() {
        "always" => PullPolicy::Always,
        "never" => PullPolicy::Never,
        "missing" | "if_not_present" => PullPolicy::Missing,
        "build" => PullPolicy::Build,
        other => {
            return Err(cx.invalid(
                p,
                format!("`{other}` is not a pull policy stevedore knows"),
                "`always`, `never`, `missing` (`if_not_present`) or `build` (timed policies \
                 like `daily` are not supported)",
            ));
        }
    };
    Ok(Some(policy))
}

fn file_mounts(
    cx: &mut Cx<'_>,
    scope: &RuntimeScope<'_>,
    p: &KeyPath,
    value: &Value,
    kind: FileKind,
) -> Result<Vec<FileMount>, ComposeError> {
    let (section, declared) = match kind {
        FileKind::Secret => ("secrets", &scope.files.secrets),
        FileKind::Config => ("configs", &scope.files.configs),
    };
    let expected = format!("a list of names, or `{{source: …, target: …}}` ({section})");
    let mut out = Vec::new();
    for (i, item) in cx.list(p, value, &expected)?.iter().enumerate() {
        let ip = p.index(i);
        let (name, target) = match untag(item) {
            Value::Mapping(long) => {
                cx.check_keys(&ip, long, &["source", "target", "uid", "gid", "mode"], &[]);
                for owner in ["uid", "gid", "mode"] {
                    if long.contains_key(owner) {
                        return Err(cx.invalid(
                            &ip.key(owner),
                            format!(
                                "`{owner}` cannot be honoured: without Swarm the file is \
                                 bind-mounted with the owner and mode it has on the host"
                            ),
                            "the entry without it (set the file's owner and mode on the host)",
                        ));
                    }
                }
                let Some(name) = cx.opt_string(&ip.key("source"), long.get("source"), &expected)?
                else {
                    return Err(cx.invalid(&ip, "the long form has no `source`", expected));
                };
                let target = cx.opt_string(&ip.key("target"), long.get("target"), "a path")?;
                (name, target)
            }
            other => (cx.string(&ip, other, &expected)?, None),
        };
        if let Some(reason) = scope.files.inline.get(&(section.to_owned(), name.clone())) {
            return Err(cx.invalid(
                &ip,
                format!("`{name}` cannot be mounted: {reason}"),
                format!("`{name}:` under the top-level `{section}:` with `file: <path>`"),
            ));
        }
        let Some(object) = declared.get(&name) else {
            return Err(cx.invalid(
                &ip,
                format!(
                    "the {} `{name}` is not declared",
                    &section[..section.len() - 1]
                ),
                format!("`{name}:` under the top-level `{section}:` with `file: <path>`"),
            ));
        };
        let target = match (kind, target) {
            (_, Some(t)) if t.starts_with('/') => t,
            (FileKind::Secret, Some(t)) => format!("/run/secrets/{t}"),
            (FileKind::Secret, None) => format!("/run/secrets/{name}"),
            (FileKind::Config, Some(t)) => format!("/{t}"),
            (FileKind::Config, None) => format!("/{name}"),
        };
        out.push(FileMount {
            kind,
            name,
            source: object.source.clone(),
            target,
        });
    }
    Ok(out)
}

/// `deploy:`: resources and the restart policy act on the container; one replica only; the
/// Swarm-only settings are accepted without effect, as Compose accepts them.
fn deploy(
    cx: &mut Cx<'_>,
    p: &KeyPath,
    value: &Value,
    rt: &mut Runtime,
) -> Result<(), ComposeError> {
    let map = match untag(value) {
        Value::Null => return Ok(()),
        other => cx.mapping(p, other, "a mapping")?,
    };
    cx.check_keys(
        p,
        map,
        &[
            "resources",
            "restart_policy",
            "replicas",
            "mode",
            "labels",
            "placement",
            "update_config",
            "rollback_config",
            "endpoint_mode",
        ],
        &[],
    );
    if let Some(replicas) = map.get("replicas").filter(|v| !untag(v).is_null()) {
        let n = cx.u32(&p.key("replicas"), replicas)?;
        if n != 1 {
            return Err(one_container(cx, &p.key("replicas"), n));
        }
    }
    if let Some(mode) = map.get("mode") {
        let mp = p.key("mode");
        if let Some(text) = text(cx, &mp, mode)?
            && !matches!(text.as_str(), "replicated" | "global")
        {
            return Err(cx.invalid(
                &mp,
                format!("`{text}` is a job mode, which only Swarm runs"),
                "`replicated` (one container)",
            ));
        }
    }
    if let Some(resources) = map.get("resources").filter(|v| !untag(v).is_null()) {
        let rp = p.key("resources");
        let resources = cx.mapping(&rp, resources, "a mapping with `limits` and `reservations`")?;
        cx.check_keys(&rp, resources, &["limits", "reservations"], &[]);
        if let Some(limits) = resources.get("limits").filter(|v| !untag(v).is_null()) {
            let lp = rp.key("limits");
            let limits = cx.mapping(&lp, limits, "a mapping with `cpus`, `memory`, `pids`")?;
            cx.check_keys(&lp, limits, &["cpus", "memory", "pids"], &[]);
            if let Some(v) = limits.get("cpus") {
                let n = cpus(cx, &lp.key("cpus"), v)?;
                set_once(cx, &lp.key("cpus"), &mut rt.resources.nano_cpus, n)?;
            }
            if let Some(v) = limits.get("memory") {
                let n = size(cx, &lp.key("memory"), v)?;
                set_once(cx, &lp.key("memory"), &mut rt.resources.memory, n)?;
            }
            if let Some(v) = limits.get("pids") {
                let n = int(cx, &lp.key("pids"), v)?;
                set_once(cx, &lp.key("pids"), &mut rt.resources.pids_limit, n)?;
            }
        }
        if let Some(reservations) = resources
            .get("reservations")
            .filter(|v| !untag(v).is_null())
        {
            let vp = rp.key("reservations");
            let reservations = cx.mapping(&vp, reservations, "a mapping with `memory`")?;
            cx.check_keys(
                &vp,
                reservations,
                &["cpus", "memory", "devices", "generic_resources"],
                &[],
            );
            if let Some(v) = reservations.get("memory") {
                let n = size(cx, &vp.key("memory"), v)?;
                set_once(
                    cx,
                    &vp.key("memory"),
                    &mut rt.resources.memory_reservation,
                    n,
                )?;
            }
            if let Some(devices) = reservations.get("devices") {
                let requests = device_requests(cx, &vp.key("devices"), devices)?;
                rt.device_requests.extend(requests);
            }
            if reservations
                .get("generic_resources")
                .is_some_and(|v| !untag(v).is_null())
            {
                return Err(cx.invalid(
                    &vp.key("generic_resources"),
                    "generic resources are advertised by Swarm nodes; the Engine has no equivalent",
                    "`devices:` for driver devices such as GPUs",
                ));
            }
            // `cpus` reservations have no Engine equivalent; Compose passes them nowhere either.
        }
    }
    if let Some(policy) = map.get("restart_policy").filter(|v| !untag(v).is_null()) {
        let pp = p.key("restart_policy");
        let policy = cx.mapping(&pp, policy, "a mapping with `condition`")?;
        cx.check_keys(
            &pp,
            policy,
            &["condition", "delay", "max_attempts", "window"],
            &[],
        );
        let max = match policy.get("max_attempts") {
            Some(v) if !untag(v).is_null() => Some(cx.u32(&pp.key("max_attempts"), v)?),
            _ => None,
        };
        let condition = match policy.get("condition") {
            Some(v) => text(cx, &pp.key("condition"), v)?,
            None => None,
        };
        rt.deploy_restart = Some(match condition.as_deref() {
            None | Some("any") => super::Restart::Always,
            Some("on-failure") => super::Restart::OnFailure(max),
            Some("none") => super::Restart::No,
            Some(other) => {
                return Err(cx.invalid(
                    &pp.key("condition"),
                    format!("`{other}` is not a restart condition"),
                    "`none`, `on-failure` or `any`",
                ));
            }
        });
    }
    Ok(())
}

/// `gpus: all`, or a list of `{driver, count, device_ids, capabilities, options}`; every request
/// asks for the `gpu` capability, as Compose's do.
fn gpus(cx: &mut Cx<'_>, p: &KeyPath, value: &Value) -> Result<Vec<DeviceRequest>, ComposeError> {
    if scalar_text(value).is_some_and(|t| t == "all") {
        return Ok(vec![DeviceRequest {
            count: Some(-1),
            capabilities: vec!["gpu".to_owned()],
            ..DeviceRequest::default()
        }]);
    }
    let mut requests = device_requests(cx, p, value)?;
    for request in &mut requests {
        if !request.capabilities.iter().any(|c| c == "gpu") {
            request.capabilities.push("gpu".to_owned());
        }
    }
    Ok(requests)
}

/// A list of device requests (`deploy.resources.reservations.devices` and the long `gpus:`).
fn device_requests(
    cx: &mut Cx<'_>,
    p: &KeyPath,
    value: &Value,
) -> Result<Vec<DeviceRequest>, ComposeError> {
    const EXPECTED: &str =
        "a list of `{capabilities: [gpu], driver: …, count: <n>|all, device_ids: […]}`";
    let mut out = Vec::new();
    for (i, item) in cx.list(p, value, EXPECTED)?.iter().enumerate() {
        let ip = p.index(i);
        let map = cx.mapping(&ip, item, EXPECTED)?;
        cx.check_keys(
            &ip,
            map,
            &["capabilities", "driver", "count", "device_ids", "options"],
            &[],
        );
        let count = match map.get("count") {
            None => None,
            Some(v) if scalar_text(v).is_some_and(|t| t == "all") => Some(-1),
            Some(v) => int(cx, &ip.key("count"), v)?,
        };
        let strings = |key: &str| match map.get(key) {
            Some(v) => cx.string_list(&ip.key(key), v, "a list of strings"),
            None => Ok(Vec::new()),
        };
        out.push(DeviceRequest {
            driver: match map.get("driver") {
                Some(v) => text(cx, &ip.key("driver"), v)?,
                None => None,
            },
            count,
            device_ids: strings("device_ids")?,
            capabilities: strings("capabilities")?,
            options: match map.get("options") {
                Some(v) => filled(cx, &ip.key("options"), v)?,
                None => IndexMap::new(),
            },
        });
    }
    Ok(out)
}

/// One `{path, weight|rate}` entry list of `blkio_config`.
fn blkio_entries(
    cx: &Cx<'_>,
    p: &KeyPath,
    map: &Mapping,
    key: &str,
) -> Result<Vec<(String, KeyPath, Value)>, ComposeError> {
    let kp = p.key(key);
    let Some(list) = map.get(key) else {
        return Ok(Vec::new());
    };
    let field = if key == "weight_device" {
        "weight"
    } else {
        "rate"
    };
    let mut out = Vec::new();
    for (i, item) in cx
        .list(&kp, list, "a list of `{path: …, rate: …}`")?
        .iter()
        .enumerate()
    {
        let ip = kp.index(i);
        let entry = cx.mapping(&ip, item, "a mapping with `path`")?;
        let Some(path) = cx.opt_string(&ip.key("path"), entry.get("path"), "a device path")? else {
            return Err(cx.invalid(&ip, "the entry has no `path`", "`path: /dev/…`"));
        };
        let Some(v) = entry.get(field) else {
            return Err(cx.invalid(&ip, format!("the entry has no `{field}`"), field));
        };
        out.push((path, ip.key(field), v.clone()));
    }
    Ok(out)
}

fn blkio_weight(cx: &Cx<'_>, p: &KeyPath, value: &Value) -> Result<u16, ComposeError> {
    scalar_text(value)
        .and_then(|t| t.trim().parse::<u16>().ok())
        .filter(|w| (10..=1000).contains(w))
        .ok_or_else(|| cx.wrong(p, value, "a weight from 10 to 1000"))
}

fn blkio(cx: &mut Cx<'_>, p: &KeyPath, value: &Value) -> Result<Option<Blkio>, ComposeError> {
    const RATES: [&str; 4] = [
        "device_read_bps",
        "device_write_bps",
        "device_read_iops",
        "device_write_iops",
    ];
    let map = match untag(value) {
        Value::Null => return Ok(None),
        other => cx.mapping(
            p,
            other,
            "a mapping with `weight`, `weight_device`, `device_*`",
        )?,
    };
    let mut known = vec!["weight", "weight_device"];
    known.extend(RATES);
    cx.check_keys(p, map, &known, &[]);
    let mut out = Blkio {
        weight: match map.get("weight") {
            Some(v) => Some(blkio_weight(cx, &p.key("weight"), v)?),
            None => None,
        },
        ..Blkio::default()
    };
    for (path, wp, v) in blkio_entries(cx, p, map, "weight_device")? {
        out.weight_device.push((path, blkio_weight(cx, &wp, &v)?));
    }
    for key in RATES {
        let mut list = Vec::new();
        for (path, rp, v) in blkio_entries(cx, p, map, key)? {
            let rate = if key.ends_with("bps") {
                size(cx, &rp, &v)?
            } else {
                int(cx, &rp, &v)?
            };
            list.push((path, rate.unwrap_or(0)));
        }
        match key {
            "device_read_bps" => out.device_read_bps = list,
            "device_write_bps" => out.device_write_bps = list,
            "device_read_iops" => out.device_read_iops = list,
            _ => out.device_write_iops = list,
        }
    }
    Ok(Some(out))
}

/// `label_file:`: one file or a list, each read as dotenv lines `KEY=value` (later files win).
fn label_files(
    cx: &Cx<'_>,
    p: &KeyPath,
    value: &Value,
) -> Result<IndexMap<String, String>, ComposeError> {
    let listed = matches!(untag(value), Value::Sequence(_));
    let mut out = IndexMap::new();
    for (i, raw) in one_or_list(cx, p, value)?.into_iter().enumerate() {
        let ip = if listed { p.index(i) } else { p.clone() };
        let home = (cx.vars)("HOME");
        let path = paths::resolve(cx.base_dir, &raw, home.as_deref())
            .map_err(|problem| cx.invalid(&ip, problem, "a file path"))?;
        let file = crate::project::dotenv::read(&path).map_err(|err| {
            cx.invalid(
                &ip,
                format!("cannot read the label file: {err}"),
                "a file of `KEY=value` lines",
            )
        })?;
        for key in file.keys() {
            if let Some(v) = file.get(key) {
                out.insert(key.to_owned(), v.to_owned());
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_bytes() {
        for (text, want) in [
            ("512m", Some(512 * 1024 * 1024)),
            ("1g", Some(1024 * 1024 * 1024)),
            ("1.5gb", Some(1536 * 1024 * 1024)),
            ("64k", Some(65536)),
            ("1000", Some(1000)),
            ("12x", None),
        ] {
            assert_eq!(bytes(text), want, "{text}");
        }
    }
}
