//! Dockerrun v2: ECS container definitions for the "ECS running on Amazon Linux" platform.

use std::collections::BTreeSet;

use serde::Serialize;

use super::{
    RenderInput, RunFiles, app_path, bundle_path, image_of, literal_environment, published_ports,
};
use crate::bundle::{BundleError, DOCKERRUN, StagedFile};
use crate::compose::{MountKind, Protocol, VolumesFromSource};

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
    let mut mounts = Vec::new();
    let ports = published_ports(input.compose, &mut notes)?;
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
        for mount in &service.volumes {
            match (mount.kind, &mount.source) {
                (MountKind::Bind, Some(source)) => {
                    let rel = bundle_path(input.root, name, source)?;
                    mounts.push(rel.clone());
                    mount_points.push(MountPoint {
                        source_volume: volumes.bundle(&rel),
                        container_path: mount.target.clone(),
                        read_only: mount.read_only,
                    });
                }
                (MountKind::Volume, Some(volume)) => mount_points.push(MountPoint {
                    source_volume: volumes.named(volume),
                    container_path: mount.target.clone(),
                    read_only: mount.read_only,
                }),
                _ => notes.push(format!(
                    "service `{name}`: the anonymous or tmpfs mount at {} is left out (Dockerrun \
                     v2 has no such volume)",
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
        containers.push(Container {
            name: name.clone(),
            image: image_of(name, service, input, &mut notes)?,
            essential: true,
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
    })
}
