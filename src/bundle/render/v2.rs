//! Dockerrun v2: ECS container definitions for the "ECS running on Amazon Linux" platform.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{
    BindSource, RenderInput, RunFiles, app_path, bind_source, image_of, literal_environment,
    published_ports, unsupported_runtime,
};
use crate::bundle::{BundleError, DOCKERRUN, StagedFile};
use crate::compose::{Condition, MountKind, Protocol, Restart, Service, VolumesFromSource};

/// The runtime keys a container definition can carry (the rest are lossy).
const SUPPORTED: &[&str] = &[
    "cap_add",
    "cap_drop",
    "sysctls",
    "stop_grace_period",
    "ulimits",
    "init",
    "extra_hosts",
    "dns",
    "dns_search",
    "shm_size",
    "tmpfs",
    "devices",
    "privileged",
    "read_only",
    "security_opt",
    "logging",
    "mem_limit",
    "mem_reservation",
    "cpu_shares",
];

/// Memory reserved for a container whose compose service says nothing: a soft reservation never
/// kills a container that needs more, and ECS requires one of the two settings.
pub const DEFAULT_RESERVATION_MIB: u64 = 256;

#[derive(Serialize)]
struct DockerrunV2 {
    #[serde(rename = "AWSEBDockerrunVersion")]
    version: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    authentication: Option<Auth>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    volumes: Vec<Volume>,
    #[serde(rename = "containerDefinitions")]
    container_definitions: Vec<Container>,
}

#[derive(Serialize)]
struct Auth {
    bucket: String,
    key: String,
}

#[derive(Serialize)]
struct Volume {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<Host>,
}

#[derive(Serialize)]
struct Host {
    #[serde(rename = "sourcePath")]
    source_path: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Container {
    name: String,
    image: String,
    essential: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    memory: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    memory_reservation: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entry_point: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    environment: Vec<NameValue>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    links: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    port_mappings: Vec<PortMapping>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    mount_points: Vec<MountPoint>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    volumes_from: Vec<VolumeFrom>,
    #[serde(skip_serializing_if = "Option::is_none")]
    working_directory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hostname: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    depends_on: Vec<DependsOn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    health_check: Option<HealthCheck>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    docker_labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pseudo_terminal: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    interactive: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    privileged: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    readonly_root_filesystem: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    cpu: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ulimits: Vec<EcsUlimit>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    extra_hosts: Vec<HostEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    dns_servers: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    dns_search_domains: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    docker_security_options: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_configuration: Option<LogConfiguration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    linux_parameters: Option<LinuxParameters>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop_timeout: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    system_controls: Vec<SystemControl>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DependsOn {
    container_name: String,
    condition: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HealthCheck {
    command: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    interval: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retries: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_period: Option<u64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EcsUlimit {
    name: String,
    soft_limit: i64,
    hard_limit: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HostEntry {
    hostname: String,
    ip_address: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogConfiguration {
    log_driver: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    options: BTreeMap<String, String>,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct LinuxParameters {
    #[serde(skip_serializing_if = "Option::is_none")]
    capabilities: Option<Capabilities>,
    #[serde(skip_serializing_if = "Option::is_none")]
    init_process_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shared_memory_size: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tmpfs: Vec<Tmpfs>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    devices: Vec<EcsDevice>,
}

#[derive(Serialize)]
struct Capabilities {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    add: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    drop: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Tmpfs {
    container_path: String,
    size: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    mount_options: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EcsDevice {
    host_path: String,
    container_path: String,
    permissions: Vec<&'static str>,
}

#[derive(Serialize)]
struct SystemControl {
    namespace: String,
    value: String,
}

#[derive(Serialize)]
struct NameValue {
    name: String,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PortMapping {
    #[serde(skip_serializing_if = "Option::is_none")]
    host_port: Option<u16>,
    container_port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MountPoint {
    source_volume: String,
    container_path: String,
    read_only: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VolumeFrom {
    source_container: String,
    read_only: bool,
}

/// Volumes by name, each bundle path or named volume declared once.
#[derive(Default)]
struct Volumes {
    list: Vec<Volume>,
    names: BTreeSet<String>,
}

impl Volumes {
    /// The volume for bundle path `rel` (named after the path).
    fn bundle(&mut self, rel: &str) -> String {
        let source = app_path(rel);
        if let Some(existing) = self
            .list
            .iter()
            .find(|v| v.host.as_ref().is_some_and(|h| h.source_path == source))
        {
            return existing.name.clone();
        }
        let base: String = if rel.is_empty() {
            "app".to_owned()
        } else {
            rel.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect()
        };
        let name = self.unique(&base);
        self.list.push(Volume {
            name: name.clone(),
            host: Some(Host {
                source_path: source,
            }),
        });
        name
    }

    /// The volume for absolute instance path `path`.
    fn host(&mut self, path: &str) -> String {
        if let Some(existing) = self
            .list
            .iter()
            .find(|v| v.host.as_ref().is_some_and(|h| h.source_path == path))
        {
            return existing.name.clone();
        }
        let base: String = path
            .trim_start_matches('/')
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let name = self.unique(&format!("host-{base}"));
        self.list.push(Volume {
            name: name.clone(),
            host: Some(Host {
                source_path: path.to_owned(),
            }),
        });
        name
    }

    /// A Docker-managed named volume.
    fn named(&mut self, name: &str) -> String {
        if let Some(existing) = self
            .list
            .iter()
            .find(|v| v.host.is_none() && v.name == name)
        {
            return existing.name.clone();
        }
        let unique = self.unique(name);
        self.list.push(Volume {
            name: unique.clone(),
            host: None,
        });
        unique
    }

    fn unique(&mut self, base: &str) -> String {
        let mut name = base.to_owned();
        let mut n = 2;
        while !self.names.insert(name.clone()) {
            name = format!("{base}-{n}");
            n += 1;
        }
        name
    }
}

pub(super) fn render(input: &RenderInput<'_>) -> Result<RunFiles, BundleError> {
    let mut notes = Vec::new();
    let mut lossy = Vec::new();
    let mut mounts = Vec::new();
    let ports = published_ports(input, &mut notes, &mut lossy)?;
    let mut volumes = Volumes::default();
    let mut containers = Vec::new();
    for (name, service) in &input.compose.services {
        let raw = input.raw.get(name);
        let memory = raw.and_then(|r| r.memory_mib);
        let reservation = raw.and_then(|r| r.memory_reservation_mib).or(match memory {
            None => Some(DEFAULT_RESERVATION_MIB),
            Some(_) => None,
        });
        // Bridge networking on ECS: a container reaches another only through a link, while
        // Compose lets services reach each other by name. Links for depends_on keep that working.
        let mut links: Vec<String> = Vec::new();
        for link in &service.links {
            links.push(match &link.alias {
                Some(alias) => format!("{}:{alias}", link.service),
                None => link.service.clone(),
            });
        }
        for dependency in service.depends_on.keys() {
            let linked = service.links.iter().any(|l| &l.service == dependency);
            if !linked {
                links.push(dependency.clone());
            }
        }
        let mut mount_points = Vec::new();
        let mut tmpfs: Vec<(String, String)> = service
            .runtime
            .tmpfs
            .iter()
            .map(|entry| match entry.split_once(':') {
                Some((path, options)) => (path.to_owned(), options.to_owned()),
                None => (entry.clone(), String::new()),
            })
            .collect();
        for mount in &service.volumes {
            match (mount.kind, &mount.source) {
                (MountKind::Bind, Some(source)) => {
                    let source_volume = match bind_source(input.root, name, source, &mut notes) {
                        BindSource::Bundle(rel) => {
                            mounts.push(rel.clone());
                            volumes.bundle(&rel)
                        }
                        BindSource::Host(path) => volumes.host(&path),
                    };
                    mount_points.push(MountPoint {
                        source_volume,
                        container_path: mount.target.clone(),
                        read_only: mount.read_only,
                    });
                }
                (MountKind::Volume, Some(volume)) => mount_points.push(MountPoint {
                    source_volume: volumes.named(volume),
                    container_path: mount.target.clone(),
                    read_only: mount.read_only,
                }),
                (MountKind::Tmpfs, _) => {
                    tmpfs.push((mount.target.clone(), mount.options.join(",")))
                }
                _ => lossy.push(format!(
                    "service `{name}`: the anonymous volume at {}: Dockerrun v2 has no such \
                     volume (name it under the top-level `volumes:`)",
                    mount.target
                )),
            }
        }
        let mut volumes_from = Vec::new();
        for from in &service.volumes_from {
            match &from.source {
                VolumesFromSource::Service(source) => volumes_from.push(VolumeFrom {
                    source_container: source.clone(),
                    read_only: from.read_only,
                }),
                VolumesFromSource::Container(container) => {
                    return Err(BundleError::Invalid(format!(
                        "service `{name}` takes volumes from container `{container}`, which does \
                         not exist on Elastic Beanstalk; use a service of the compose file"
                    )));
                }
            }
        }
        unsupported_runtime(name, service, SUPPORTED, "Dockerrun v2", &mut lossy);
        let rt = &service.runtime;
        let linux = linux_parameters(name, service, tmpfs, &mut lossy);
        containers.push(Container {
            name: name.clone(),
            image: image_of(name, service, input, &mut notes)?,
            essential: !one_shot(input, name, service),
            memory,
            memory_reservation: reservation,
            entry_point: service.entrypoint.clone().filter(|e| !e.is_empty()),
            command: service.command.clone().filter(|c| !c.is_empty()),
            environment: literal_environment(name, service, input, &mut notes)
                .into_iter()
                .map(|(name, value)| NameValue { name, value })
                .collect(),
            links,
            port_mappings: ports
                .get(name)
                .into_iter()
                .flatten()
                .map(|p| PortMapping {
                    host_port: p.host,
                    container_port: p.container,
                    protocol: (p.protocol != Protocol::Tcp).then(|| p.protocol.as_str()),
                })
                .collect(),
            mount_points,
            volumes_from,
            working_directory: service.working_dir.clone(),
            user: service.user.clone(),
            hostname: service.hostname.clone(),
            depends_on: service
                .depends_on
                .iter()
                .map(|(dependency, condition)| DependsOn {
                    container_name: dependency.clone(),
                    condition: match condition {
                        Condition::ServiceStarted => "START",
                        Condition::ServiceHealthy => "HEALTHY",
                        Condition::ServiceCompletedSuccessfully => "SUCCESS",
                    },
                })
                .collect(),
            health_check: health_check(name, service, &mut lossy),
            docker_labels: service
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            pseudo_terminal: service.tty,
            interactive: service.stdin_open,
            privileged: rt.privileged,
            readonly_root_filesystem: rt.read_only,
            cpu: rt.resources.cpu_shares,
            ulimits: rt
                .ulimits
                .iter()
                .map(|(name, limit)| EcsUlimit {
                    name: name.clone(),
                    soft_limit: limit.soft,
                    hard_limit: limit.hard,
                })
                .collect(),
            extra_hosts: rt
                .extra_hosts
                .iter()
                .filter_map(|entry| entry.split_once(':'))
                .map(|(host, ip)| HostEntry {
                    hostname: host.to_owned(),
                    ip_address: ip.to_owned(),
                })
                .collect(),
            dns_servers: rt.dns.clone(),
            dns_search_domains: rt.dns_search.clone(),
            docker_security_options: rt.security_opt.clone(),
            log_configuration: rt.logging.as_ref().map(|l| LogConfiguration {
                log_driver: l.driver.clone().unwrap_or_else(|| "json-file".to_owned()),
                options: l
                    .options
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            }),
            linux_parameters: linux,
            stop_timeout: rt.stop_grace_period.map(|d| d.as_secs().max(1)),
            system_controls: rt
                .sysctls
                .iter()
                .map(|(k, v)| SystemControl {
                    namespace: k.clone(),
                    value: v.clone(),
                })
                .collect(),
        });
    }
    let doc = DockerrunV2 {
        version: 2,
        authentication: input.auth.map(|a| Auth {
            bucket: a.bucket.clone(),
            key: a.key.clone(),
        }),
        volumes: volumes.list,
        container_definitions: containers,
    };
    Ok(RunFiles {
        files: vec![StagedFile::json(DOCKERRUN, &doc)?],
        notes,
        mounts,
        lossy,
    })
}

/// A one-shot service (others wait for it to complete, or it never restarts) must not be
/// essential: on ECS an essential container that exits stops the whole task.
fn one_shot(input: &RenderInput<'_>, name: &str, service: &Service) -> bool {
    service.restart == Some(Restart::No)
        || input
            .compose
            .services
            .values()
            .any(|s| s.depends_on.get(name) == Some(&Condition::ServiceCompletedSuccessfully))
}

/// ECS counts health-check times in whole seconds.
fn seconds(duration: Option<std::time::Duration>) -> Option<u64> {
    duration.map(|d| d.as_secs().max(1))
}

fn health_check(name: &str, service: &Service, lossy: &mut Vec<String>) -> Option<HealthCheck> {
    let check = service.healthcheck.as_ref()?;
    if check.disable {
        return None;
    }
    if check.test.is_empty() {
        lossy.push(format!(
            "service `{name}`: the health check keeps the image's own test, which an ECS \
             health check cannot refer to; write `test:`"
        ));
        return None;
    }
    if check.start_interval.is_some() {
        lossy.push(format!(
            "service `{name}`: `healthcheck.start_interval`: ECS has no equivalent"
        ));
    }
    Some(HealthCheck {
        command: check.test.clone(),
        interval: seconds(check.interval),
        timeout: seconds(check.timeout),
        retries: check.retries,
        start_period: seconds(check.start_period),
    })
}

/// Capabilities, init, shared memory, tmpfs and devices, as ECS's `linuxParameters`.
fn linux_parameters(
    name: &str,
    service: &Service,
    tmpfs: Vec<(String, String)>,
    lossy: &mut Vec<String>,
) -> Option<LinuxParameters> {
    let rt = &service.runtime;
    let mut out = LinuxParameters {
        init_process_enabled: rt.init,
        shared_memory_size: rt.shm_size.map(|b| (b + (1 << 20) - 1) >> 20),
        ..Default::default()
    };
    if !rt.cap_add.is_empty() || !rt.cap_drop.is_empty() {
        out.capabilities = Some(Capabilities {
            add: rt.cap_add.clone(),
            drop: rt.cap_drop.clone(),
        });
    }
    for (path, options) in tmpfs {
        let mut size = None;
        let mut mount_options = Vec::new();
        for option in options.split(',').filter(|o| !o.is_empty()) {
            match option.strip_prefix("size=") {
                Some(text) => size = crate::compose::runtime::bytes(text),
                None => mount_options.push(option.to_owned()),
            }
        }
        match size {
            Some(bytes) => out.tmpfs.push(Tmpfs {
                container_path: path,
                size: ((bytes + (1 << 20) - 1) >> 20).max(1),
                mount_options,
            }),
            None => lossy.push(format!(
                "service `{name}`: the tmpfs at {path} has no size, which ECS requires; write \
                 `{path}:size=64m` under `tmpfs:`"
            )),
        }
    }
    for device in &rt.devices {
        let mut permissions = Vec::new();
        for (flag, word) in [('r', "read"), ('w', "write"), ('m', "mknod")] {
            if device.permissions.contains(flag) {
                permissions.push(word);
            }
        }
        out.devices.push(EcsDevice {
            host_path: device.host.clone(),
            container_path: device.container.clone(),
            permissions,
        });
    }
    let empty = out.capabilities.is_none()
        && out.init_process_enabled.is_none()
        && out.shared_memory_size.is_none()
        && out.tmpfs.is_empty()
        && out.devices.is_empty();
    (!empty).then_some(out)
}
