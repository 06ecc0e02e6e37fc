//! Compose → Engine: what an environment's containers, networks and volumes must look like
//! ([`desired`], [`networks`], [`volumes`]), and what to do to get there from what exists
//! ([`plan`]). Pure: no daemon, no files, so every rule is unit-tested.
//!
//! Idempotence rests on labels: every container carries the Compose labels (project, service,
//! number, one-off) and the service's configuration hash. A container whose hash and image
//! still match is kept; one that differs is recreated alone.

use std::collections::HashMap;

use serde::Serialize;

use super::names;
use crate::compose::{
    ComposeFile, Condition, Format, Healthcheck, Mount, MountKind, NetworkDef, PortMapping,
    Restart, Service, ServiceNetwork, VolumesFromSource,
};
use crate::engine::containers::{
    ContainerInfo, ContainerSpec, HealthSpec, NetworkAttachment, PublishedPort, RestartSpec,
};
use crate::engine::labels;
use crate::engine::networks::NetworkSpec;
use crate::engine::volumes::VolumeSpec;

/// The environment being planned.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The loaded compose file.
    pub file: &'a ComposeFile,
    /// The Compose project name (already normalised).
    pub project: &'a str,
    /// The stevedore environment.
    pub env: &'a str,
    /// The image each service runs (reference), by service name.
    pub images: &'a HashMap<String, String>,
}

/// One service's container as it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// The service.
    pub service: String,
    /// The container to create.
    pub spec: ContainerSpec,
    /// The configuration hash stored in its label.
    pub hash: String,
}

/// The labels that select an environment's containers, networks and volumes.
pub fn project_selector(project: &str) -> Vec<(String, String)> {
    vec![(labels::compose::PROJECT.to_owned(), project.to_owned())]
}

/// Every service's container, in file order.
pub fn desired(target: &Target<'_>) -> Vec<Desired> {
    target
        .file
        .services
        .iter()
        .map(|(name, service)| {
            let hash = service.config_hash();
            let mut spec = service_spec(target, name, service);
            spec.labels
                .insert(labels::compose::CONFIG_HASH.to_owned(), hash.clone());
            Desired {
                service: name.clone(),
                spec,
                hash,
            }
        })
        .collect()
}

/// The container of `service` as the compose file describes it (no hash label).
pub fn service_spec(target: &Target<'_>, name: &str, service: &Service) -> ContainerSpec {
    let project = target.project;
    let image = target
        .images
        .get(name)
        .cloned()
        .or_else(|| service.image.clone())
        .unwrap_or_default();
    let mut spec = ContainerSpec {
        name: service
            .container_name
            .clone()
            .unwrap_or_else(|| names::container_name(project, name)),
        image,
        cmd: service.command.clone(),
        entrypoint: service.entrypoint.clone(),
        env: service
            .resolved_environment
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        working_dir: service.working_dir.clone(),
        user: service.user.clone(),
        hostname: service.hostname.clone(),
        labels: service.labels.clone().into_iter().collect(),
        tty: service.tty,
        stdin_open: service.stdin_open,
        exposed: service
            .expose
            .iter()
            .map(|e| format!("{}/{}", e.port, e.protocol.as_str()))
            .collect(),
        ports: service.ports.iter().map(published).collect(),
        restart: service.restart.map(restart),
        healthcheck: service.healthcheck.as_ref().map(health),
        volumes_from: service
            .volumes_from
            .iter()
            .map(|from| {
                let container = match &from.source {
                    VolumesFromSource::Service(other) => target
                        .file
                        .services
                        .get(other)
                        .and_then(|s| s.container_name.clone())
                        .unwrap_or_else(|| names::container_name(project, other)),
                    VolumesFromSource::Container(container) => container.clone(),
                };
                format!("{container}:{}", if from.read_only { "ro" } else { "rw" })
            })
            .collect(),
        ..ContainerSpec::default()
    };
    for mount in &service.volumes {
        add_mount(&mut spec, target, mount);
    }
    spec.binds.extend(super::host::file_binds(service));
    spec.tmpfs.extend(service.runtime.tmpfs.iter().cloned());
    spec.host = super::host::options(target, service);
    spec.platform = service.runtime.platform.clone();
    if spec.host.replaces_networks() {
        // `network_mode`: the container joins no network of the project (Compose refuses
        // `networks:` beside it); legacy links need a network of their own.
        if spec.host.network_mode.as_deref() == Some("bridge") {
            spec.legacy_links = links(target, service);
        }
    } else if target.file.format == Format::V1 {
        // docker-compose 1.x ran v1 files on Docker's default bridge, wired with legacy links.
        spec.legacy_links = links(target, service);
    } else {
        let (first, rest) = attachments(target, name, service);
        spec.network = first;
        spec.extra_networks = rest;
    }
    spec.labels.extend(compose_labels(target, name, false));
    spec
}

/// The Compose labels of a service's container (`oneoff` for `run` containers).
pub fn compose_labels(target: &Target<'_>, service: &str, oneoff: bool) -> Vec<(String, String)> {
    let file = &target.file.path;
    let dir = file.parent().map(|d| d.display().to_string());
    let mut out = vec![
        (labels::compose::PROJECT, target.project.to_owned()),
        (labels::compose::SERVICE, service.to_owned()),
        (labels::compose::CONTAINER_NUMBER, "1".to_owned()),
        (
            labels::compose::ONEOFF,
            if oneoff { "True" } else { "False" }.to_owned(),
        ),
        (
            labels::compose::VERSION,
            format!("stevedore-{}", env!("CARGO_PKG_VERSION")),
        ),
        (labels::compose::CONFIG_FILES, file.display().to_string()),
        (labels::ENVIRONMENT, target.env.to_owned()),
    ];
    if let Some(dir) = dir {
        out.push((labels::compose::WORKING_DIR, dir));
    }
    out.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn published(port: &PortMapping) -> PublishedPort {
    PublishedPort {
        container_port: port.container_port,
        protocol: port.protocol.as_str().to_owned(),
        host_ip: port.host_ip.clone(),
        host_port: port.host_port.map(|h| h.to_string()),
    }
}

fn restart(policy: Restart) -> RestartSpec {
    let (name, max_retries) = match policy {
        Restart::No => ("no", 0),
        Restart::Always => ("always", 0),
        Restart::UnlessStopped => ("unless-stopped", 0),
        Restart::OnFailure(n) => ("on-failure", n.unwrap_or(0)),
    };
    RestartSpec {
        name: name.to_owned(),
        max_retries,
    }
}

fn health(check: &Healthcheck) -> HealthSpec {
    HealthSpec {
        test: if check.disable {
            vec!["NONE".to_owned()]
        } else {
            check.test.clone()
        },
        interval: check.interval,
        timeout: check.timeout,
        retries: check.retries,
        start_period: check.start_period,
        start_interval: check.start_interval,
    }
}

fn add_mount(spec: &mut ContainerSpec, target: &Target<'_>, mount: &Mount) {
    let mut options: Vec<String> = Vec::new();
    if mount.read_only {
        options.push("ro".to_owned());
    }
    options.extend(mount.options.iter().cloned());
    let with_options = |source: &str| {
        if options.is_empty() {
            format!("{source}:{}", mount.target)
        } else {
            format!("{source}:{}:{}", mount.target, options.join(","))
        }
    };
    match (mount.kind, &mount.source) {
        (MountKind::Bind, Some(source)) => spec.binds.push(with_options(source)),
        (MountKind::Volume, Some(key)) => {
            let name = names::volume_name(
                target.project,
                key,
                target.file.volumes.get(key),
                target.file.format,
            );
            spec.binds.push(with_options(&name));
        }
        (MountKind::Volume | MountKind::Bind, None) => {
            spec.anonymous_volumes.push(mount.target.clone())
        }
        (MountKind::Tmpfs, _) if options.is_empty() => spec.tmpfs.push(mount.target.clone()),
        (MountKind::Tmpfs, _) => spec
            .tmpfs
            .push(format!("{}:{}", mount.target, options.join(","))),
    }
}

/// The networks a service joins (the project's default one when it names none), with the
/// service name as an alias everywhere and its links on the first network.
fn attachments(
    target: &Target<'_>,
    name: &str,
    service: &Service,
) -> (Option<NetworkAttachment>, Vec<NetworkAttachment>) {
    let default = ServiceNetwork::default();
    let mut keys: Vec<(&str, &ServiceNetwork)> = if service.networks.is_empty() {
        vec![("default", &default)]
    } else {
        service
            .networks
            .iter()
            .map(|(key, settings)| (key.as_str(), settings))
            .collect()
    };
    // Compose joins the network of highest `priority` first (stable for equal ones).
    keys.sort_by_key(|(_, settings)| std::cmp::Reverse(settings.priority.unwrap_or(0)));
    let links = links(target, service);
    let mut all = keys.into_iter().enumerate().map(|(i, (key, settings))| {
        let mut aliases = vec![name.to_owned()];
        aliases.extend(settings.aliases.iter().filter(|a| *a != name).cloned());
        NetworkAttachment {
            network: names::network_name(target.project, key, target.file.networks.get(key)),
            aliases,
            links: if i == 0 { links.clone() } else { Vec::new() },
            ipv4_address: settings.ipv4_address.clone(),
            ipv6_address: settings.ipv6_address.clone(),
            link_local_ips: settings.link_local_ips.clone(),
        }
    });
    let first = all.next();
    (first, all.collect())
}

/// Links as Docker takes them, `container:alias`: names only this container resolves. As
/// Compose does, each linked service is reachable by the link's alias, its container name and
/// `<service>-1`.
fn links(target: &Target<'_>, service: &Service) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for link in &service.links {
        let container = target
            .file
            .services
            .get(&link.service)
            .and_then(|s| s.container_name.clone())
            .unwrap_or_else(|| names::container_name(target.project, &link.service));
        let alias = link.alias.clone().unwrap_or_else(|| link.service.clone());
        for name in [alias, container.clone(), format!("{}-1", link.service)] {
            let entry = format!("{container}:{name}");
            if !out.contains(&entry) {
                out.push(entry);
            }
        }
    }
    for link in &service.external_links {
        let alias = link.alias.clone().unwrap_or_else(|| link.container.clone());
        out.push(format!("{}:{alias}", link.container));
    }
    out
}

/// The networks to create: the default one when a service uses it, and every declared,
/// non-external network.
pub fn networks(target: &Target<'_>) -> Vec<NetworkSpec> {
    let file = target.file;
    let uses_default = file.format == Format::Spec
        && file.services.values().any(|s| {
            s.runtime.network_mode.is_none()
                && (s.networks.is_empty() || s.networks.contains_key("default"))
        });
    let mut out = Vec::new();
    let mut add = |key: &str, def: &NetworkDef| {
        let mut labels: HashMap<String, String> = def.labels.clone().into_iter().collect();
        labels.extend([
            (
                labels::compose::PROJECT.to_owned(),
                target.project.to_owned(),
            ),
            (labels::compose::NETWORK.to_owned(), key.to_owned()),
            (labels::ENVIRONMENT.to_owned(), target.env.to_owned()),
        ]);
        out.push(NetworkSpec {
            name: names::network_name(target.project, key, file.networks.get(key)),
            driver: def.driver.clone(),
            labels,
            options: def.driver_opts.clone().into_iter().collect(),
            internal: def.internal,
            attachable: def.attachable,
            enable_ipv6: def.enable_ipv6,
            ipam: def.ipam.as_ref().map(ipam),
        });
    };
    if uses_default && !file.networks.contains_key("default") {
        add("default", &NetworkDef::default());
    }
    for (key, def) in &file.networks {
        if !def.external {
            add(key, def);
        }
    }
    out
}

fn ipam(def: &crate::compose::Ipam) -> bollard::models::Ipam {
    bollard::models::Ipam {
        driver: def.driver.clone(),
        config: (!def.config.is_empty()).then(|| {
            def.config
                .iter()
                .map(|pool| bollard::models::IpamConfig {
                    subnet: pool.subnet.clone(),
                    ip_range: pool.ip_range.clone(),
                    gateway: pool.gateway.clone(),
                    auxiliary_addresses: (!pool.aux_addresses.is_empty())
                        .then(|| pool.aux_addresses.clone().into_iter().collect()),
                })
                .collect()
        }),
        options: (!def.options.is_empty()).then(|| def.options.clone().into_iter().collect()),
    }
}

/// The named volumes to create: every declared, non-external volume (v1 files declare none;
/// Docker creates theirs on first use, as docker-compose 1.x lets it).
pub fn volumes(target: &Target<'_>) -> Vec<VolumeSpec> {
    let file = target.file;
    file.volumes
        .iter()
        .filter(|(_, def)| !def.external)
        .map(|(key, def)| {
            let mut labels: HashMap<String, String> = def.labels.clone().into_iter().collect();
            labels.extend([
                (
                    labels::compose::PROJECT.to_owned(),
                    target.project.to_owned(),
                ),
                (labels::compose::VOLUME.to_owned(), key.clone()),
                (labels::ENVIRONMENT.to_owned(), target.env.to_owned()),
            ]);
            VolumeSpec {
                name: names::volume_name(target.project, key, Some(def), file.format),
                driver: def.driver.clone(),
                labels,
                options: def.driver_opts.clone().into_iter().collect(),
            }
        })
        .collect()
}

/// What to do about one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// No container yet: create and start it.
    Create,
    /// The container differs from the file: remove it, create and start a new one.
    Recreate {
        /// The old container.
        id: String,
        /// What changed.
        reason: String,
    },
    /// The container matches but is not running: start it.
    Start {
        /// The container.
        id: String,
    },
    /// The container matches and runs: nothing to do.
    Keep {
        /// The container.
        id: String,
    },
}

/// One service's step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The service.
    pub service: String,
    /// What to do.
    #[serde(flatten)]
    pub action: Action,
    /// What it waits for before starting, and how ready each must be.
    #[serde(skip)]
    pub waits_for: Vec<(String, Condition)>,
}

/// Everything `start` does, layer by layer (a layer's services are independent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The layers, in start order.
    pub layers: Vec<Vec<Step>>,
    /// Containers of the project whose service is no longer in the file.
    pub orphans: Vec<ContainerInfo>,
}

impl Plan {
    /// Whether nothing needs doing (orphans aside).
    pub fn is_noop(&self) -> bool {
        self.steps()
            .all(|step| matches!(step.action, Action::Keep { .. }))
    }

    /// Every step, in start order.
    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.layers.iter().flatten()
    }
}

/// What exists, for [`plan`].
#[derive(Debug, Clone, Copy)]
pub struct Current<'a> {
    /// The project's containers (one-off ones are ignored).
    pub containers: &'a [ContainerInfo],
    /// The id of each service's image as it is now, by service.
    pub image_ids: &'a HashMap<String, String>,
    /// Recreate every container, changed or not.
    pub force_recreate: bool,
}

/// Compare `desired` with what exists. `layers` is the file's start order.
pub fn plan(
    desired: &[Desired],
    layers: &[Vec<String>],
    file: &ComposeFile,
    current: Current<'_>,
) -> Plan {
    let service_containers: Vec<&ContainerInfo> = current
        .containers
        .iter()
        .filter(|c| c.label(labels::compose::ONEOFF) != "True")
        .collect();
    let mut actions: HashMap<&str, Action> = HashMap::new();
    for want in desired {
        let existing = service_containers
            .iter()
            .find(|c| c.label(labels::compose::SERVICE) == want.service);
        let action = match existing {
            None => Action::Create,
            Some(c) => match change(want, c, current) {
                Some(reason) => Action::Recreate {
                    id: c.id.clone(),
                    reason,
                },
                None if c.is_running() => Action::Keep { id: c.id.clone() },
                None => Action::Start { id: c.id.clone() },
            },
        };
        actions.insert(want.service.as_str(), action);
    }
    cascade_volumes_from(&mut actions, file);
    let layers = layers
        .iter()
        .map(|layer| {
            layer
                .iter()
                .filter_map(|service| {
                    let action = actions.remove(service.as_str())?;
                    let waits_for = file
                        .services
                        .get(service)
                        .map(waits_for)
                        .unwrap_or_default();
                    Some(Step {
                        service: service.clone(),
                        action,
                        waits_for,
                    })
                })
                .collect()
        })
        .collect();
    let orphans = service_containers
        .into_iter()
        .filter(|c| {
            !file
                .services
                .contains_key(c.label(labels::compose::SERVICE))
        })
        .cloned()
        .collect();
    Plan { layers, orphans }
}

/// Why container `c` no longer matches `want`, if it doesn't.
fn change(want: &Desired, c: &ContainerInfo, current: Current<'_>) -> Option<String> {
    if current.force_recreate {
        return Some("recreate forced".to_owned());
    }
    if c.label(labels::compose::CONFIG_HASH) != want.hash {
        return Some("configuration changed".to_owned());
    }
    match current.image_ids.get(&want.service) {
        Some(id) if !id.is_empty() && *id != c.image_id => Some("image changed".to_owned()),
        _ => None,
    }
}

/// A container that mounts the volumes of a recreated one must be recreated too: Docker
/// resolved `volumes_from` when it was created. So must one with a legacy link (v1 files) to a
/// recreated container: legacy links bind to the container, not its name. Links on a network
/// resolve by name at query time, so dependents there are left alone.
fn cascade_volumes_from<'a>(actions: &mut HashMap<&'a str, Action>, file: &'a ComposeFile) {
    loop {
        let mut changed = false;
        for (name, service) in &file.services {
            let is_new = |source: &str| {
                matches!(
                    actions.get(source),
                    Some(Action::Create | Action::Recreate { .. })
                )
            };
            let follows_new = service.volumes_from.iter().any(|from| match &from.source {
                VolumesFromSource::Service(source) => is_new(source),
                VolumesFromSource::Container(_) => false,
            }) || (file.format == Format::V1
                && service.links.iter().any(|link| is_new(&link.service)));
            let id = match actions.get(name.as_str()) {
                Some(Action::Keep { id } | Action::Start { id }) => id.clone(),
                _ => continue,
            };
            if follows_new {
                actions.insert(
                    name.as_str(),
                    Action::Recreate {
                        id,
                        reason: "a service it takes volumes from or links to is new".to_owned(),
                    },
                );
                changed = true;
            }
        }
        if !changed {
            return;
        }
    }
}

/// The services `service` waits for, with the readiness each must reach. Links and
/// `volumes_from` only need the other container started.
fn waits_for(service: &Service) -> Vec<(String, Condition)> {
    service
        .dependencies()
        .into_iter()
        .map(|dep| {
            let condition = service
                .depends_on
                .get(dep)
                .copied()
                .unwrap_or(Condition::ServiceStarted);
            (dep.to_owned(), condition)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::compose;

    fn load(text: &str) -> ComposeFile {
        let vars = |name: &str| match name {
            "HOME" => Some("/home/u".to_owned()),
            _ => None,
        };
        compose::parse(
            text,
            Path::new("/p/docker/app/dev/docker-compose.yml"),
            &vars,
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn target_of<'a>(
        file: &'a ComposeFile,
        images: &'a HashMap<String, String>,
        project: &'a str,
    ) -> Target<'a> {
        Target {
            file,
            project,
            env: project,
            images,
        }
    }

    fn images(file: &ComposeFile) -> HashMap<String, String> {
        file.services
            .keys()
            .map(|name| (name.clone(), format!("demo-{name}:dev")))
            .collect()
    }

    const V1: &str = "\
django:
  build: ../../..
  dockerfile: docker/django/dev/Dockerfile
  environment: [ENV_NAME=dev]
  ports: ['80:8080', '8010']
  volumes:
    - ../../../app:/var/app/app
    - ./conf:/etc/conf:ro
    - /var/app/dist
    - cache:/cache
  restart: on-failure:3
  working_dir: /var/app
nginx:
  image: nginx
  links: [django, 'django:web']
  volumes_from: [django]
  command: nginx -g 'daemon off;'
";

    #[test]
    fn a_service_becomes_a_container_spec() {
        let file = load(V1);
        let images = images(&file);
        let target = target_of(&file, &images, "dev");
        let all = desired(&target);
        assert_eq!(all.len(), 2);
        let django = &all[0].spec;
        assert_eq!(django.name, "dev-django-1");
        assert_eq!(django.image, "demo-django:dev");
        assert_eq!(django.env, vec!["ENV_NAME=dev"]);
        assert_eq!(django.working_dir.as_deref(), Some("/var/app"));
        assert_eq!(
            django.binds,
            vec![
                "/p/app:/var/app/app".to_owned(),
                "/p/docker/app/dev/conf:/etc/conf:ro".into(),
                "cache:/cache".into(),
            ]
        );
        assert_eq!(django.anonymous_volumes, vec!["/var/app/dist"]);
        assert_eq!(django.ports.len(), 2);
        assert_eq!(django.ports[0].host_port.as_deref(), Some("80"));
        assert_eq!(django.ports[1].host_port, None);
        assert_eq!(
            django.restart,
            Some(RestartSpec {
                name: "on-failure".into(),
                max_retries: 3
            })
        );
        // v1: the default bridge, as docker-compose 1.x ran it.
        assert_eq!(django.network, None);
        assert!(networks(&target).is_empty());
        assert_eq!(django.labels["com.docker.compose.project"], "dev");
        assert_eq!(django.labels["com.docker.compose.service"], "django");
        assert_eq!(django.labels["com.docker.compose.oneoff"], "False");
        assert_eq!(django.labels["com.docker.compose.config-hash"], all[0].hash);

        let nginx = &all[1].spec;
        assert_eq!(nginx.image, "demo-nginx:dev");
        assert_eq!(
            nginx.cmd,
            Some(vec!["nginx".into(), "-g".into(), "daemon off;".into()])
        );
        assert_eq!(nginx.volumes_from, vec!["dev-django-1:rw"]);
        assert_eq!(
            nginx.legacy_links,
            vec![
                "dev-django-1:django".to_owned(),
                "dev-django-1:dev-django-1".into(),
                "dev-django-1:django-1".into(),
                "dev-django-1:web".into(),
            ]
        );
    }

    #[test]
    fn spec_networks_volumes_and_health() {
        let file = load(
            "\
services:
  db:
    image: postgres
    volumes: [data:/var/lib/db, {type: tmpfs, target: /tmp}]
    networks: {back: {aliases: [database]}}
    healthcheck: {test: pg_isready, interval: 2s, retries: 5}
  web:
    image: web
    networks: [back, front]
    depends_on: {db: {condition: service_healthy}}
    healthcheck: {disable: true}
networks:
  back: {}
  front: {name: shared-front}
  outside: {external: true}
volumes:
  data: {}
",
        );
        let images = HashMap::new();
        let target = target_of(&file, &images, "prod");
        let all = desired(&target);
        let db = &all[0].spec;
        assert_eq!(db.image, "postgres");
        assert_eq!(db.binds, vec!["prod_data:/var/lib/db"]);
        assert_eq!(db.tmpfs, vec!["/tmp"]);
        let network = db.network.clone().unwrap_or_default();
        assert_eq!(network.network, "prod_back");
        assert_eq!(network.aliases, vec!["db", "database"]);
        let health = db.healthcheck.clone().unwrap_or_else(|| panic!("health"));
        assert_eq!(health.test, vec!["CMD-SHELL", "pg_isready"]);
        assert_eq!(health.retries, Some(5));
        let web = &all[1].spec;
        assert_eq!(web.extra_networks.len(), 1);
        assert_eq!(web.extra_networks[0].network, "shared-front");
        assert_eq!(
            web.healthcheck.clone().map(|h| h.test),
            Some(vec!["NONE".to_owned()])
        );
        let nets: Vec<String> = networks(&target).into_iter().map(|n| n.name).collect();
        assert_eq!(nets, vec!["prod_back", "shared-front"]);
        let vols: Vec<String> = volumes(&target).into_iter().map(|v| v.name).collect();
        assert_eq!(vols, vec!["prod_data"]);
    }

    fn existing(service: &str, hash: &str, running: bool, image_id: &str) -> ContainerInfo {
        ContainerInfo {
            id: format!("id-{service}"),
            name: format!("dev-{service}-1"),
            labels: HashMap::from([
                (labels::compose::SERVICE.to_owned(), service.to_owned()),
                (labels::compose::CONFIG_HASH.to_owned(), hash.to_owned()),
                (labels::compose::ONEOFF.to_owned(), "False".to_owned()),
            ]),
            state: if running { "running" } else { "exited" }.to_owned(),
            status: String::new(),
            image: String::new(),
            image_id: image_id.to_owned(),
            created: 0,
            ports: Vec::new(),
        }
    }

    fn actions(plan: &Plan) -> Vec<String> {
        plan.steps()
            .map(|s| {
                let what = match &s.action {
                    Action::Create => "create".to_owned(),
                    Action::Recreate { reason, .. } => format!("recreate ({reason})"),
                    Action::Start { .. } => "start".to_owned(),
                    Action::Keep { .. } => "keep".to_owned(),
                };
                format!("{}: {what}", s.service)
            })
            .collect()
    }

    #[test]
    fn plans_create_keep_start_recreate_and_orphans() {
        let file = load(V1);
        let images = images(&file);
        let target = target_of(&file, &images, "dev");
        let want = desired(&target);
        let layers = file.startup_order().unwrap_or_default();
        let ids = HashMap::from([
            ("django".to_owned(), "sha256:d".to_owned()),
            ("nginx".to_owned(), "sha256:n".to_owned()),
        ]);
        let run = |containers: &[ContainerInfo], force: bool| {
            plan(
                &want,
                &layers,
                &file,
                Current {
                    containers,
                    image_ids: &ids,
                    force_recreate: force,
                },
            )
        };
        let fresh = run(&[], false);
        assert_eq!(actions(&fresh), vec!["django: create", "nginx: create"]);
        assert_eq!(fresh.layers.len(), 2);
        assert_eq!(
            fresh.layers[1][0].waits_for,
            vec![("django".to_owned(), Condition::ServiceStarted)]
        );

        let same = [
            existing("django", &want[0].hash, true, "sha256:d"),
            existing("nginx", &want[1].hash, true, "sha256:n"),
        ];
        let noop = run(&same, false);
        assert!(noop.is_noop(), "{:?}", actions(&noop));

        let stopped = [
            existing("django", &want[0].hash, true, "sha256:d"),
            existing("nginx", &want[1].hash, false, "sha256:n"),
        ];
        assert_eq!(
            actions(&run(&stopped, false)),
            vec!["django: keep", "nginx: start"]
        );

        // A changed nginx is recreated alone.
        let changed = [
            existing("django", &want[0].hash, true, "sha256:d"),
            existing("nginx", "old", true, "sha256:n"),
        ];
        assert_eq!(
            actions(&run(&changed, false)),
            vec!["django: keep", "nginx: recreate (configuration changed)"]
        );

        // A rebuilt django image recreates django, and nginx follows: it mounts its volumes.
        let rebuilt = [
            existing("django", &want[0].hash, true, "sha256:old"),
            existing("nginx", &want[1].hash, true, "sha256:n"),
            existing("worker", "x", true, "sha256:w"),
        ];
        let plan = run(&rebuilt, false);
        assert_eq!(
            actions(&plan),
            vec![
                "django: recreate (image changed)",
                "nginx: recreate (a service it takes volumes from or links to is new)"
            ]
        );
        assert_eq!(plan.orphans.len(), 1);
        assert_eq!(plan.orphans[0].name, "dev-worker-1");

        assert_eq!(
            actions(&run(&same, true)),
            vec![
                "django: recreate (recreate forced)",
                "nginx: recreate (recreate forced)"
            ]
        );
    }
}
