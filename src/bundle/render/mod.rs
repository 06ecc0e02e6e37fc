//! Rendering the environment's compose file into the run file Elastic Beanstalk reads: Dockerrun
//! v2 (the ECS platform), Dockerrun v1 (one container on the Docker platform) or a
//! `docker-compose.yml` (the Docker platform with Compose). Pure: the compose model, the raw
//! facts and the image pins in, file contents out.
//!
//! What every format shares:
//! - our services run the pinned image (`repo@sha256:…`); a service Compose would build but that
//!   is not part of the release is refused (instances never build);
//! - `environment:` literals are kept; values that come from variables (and bare keys) are left
//!   to the environment's properties, so `.env` values never enter the bundle;
//! - bind mounts must point inside the project; they become paths under `/var/app/current`,
//!   where the instance extracts the bundle;
//! - the load balancer forwards to port 80 of the instance: the service that gets it is the
//!   `web_service` setting, else the one that already publishes host port 80, else the one
//!   nothing depends on that publishes a port (the front of the graph), else the first that
//!   publishes one; a note names the choice and why;
//! - what the format cannot express is listed in [`RunFiles::lossy`] with the reason, and the
//!   bundle is refused unless the user allows the loss (`--allow-lossy`).

mod compose;
mod entry;
mod v1;
mod v2;

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use super::compose_raw::RawService;
use super::pins::ImagePins;
use super::{BundleError, BundleFormat, S3Ref, StagedFile};
use crate::compose::{ComposeFile, HostPort, PortMapping, Protocol, Service};

/// Where the instance extracts the bundle.
pub const APP_DIR: &str = "/var/app/current";

/// Everything rendering reads.
pub struct RenderInput<'a> {
    /// The environment's compose file, loaded.
    pub compose: &'a ComposeFile,
    /// The same file's raw facts (variable values, memory).
    pub raw: &'a BTreeMap<String, RawService>,
    /// Our services' images.
    pub pins: &'a ImagePins,
    /// The project root: bind mounts must be inside it.
    pub root: &'a Path,
    /// Registry credentials for the instances, when configured.
    pub auth: Option<&'a S3Ref>,
    /// The service Elastic Beanstalk routes port 80 to (`web_service`), when set.
    pub web: Option<&'a str>,
}

/// Rendered run files and what the user should know about them.
#[derive(Debug, Clone, Default)]
pub struct RunFiles {
    /// Files for the bundle's root, e.g. `Dockerrun.aws.json`.
    pub files: Vec<StagedFile>,
    /// Things that changed on the way or were left out, for warnings.
    pub notes: Vec<String>,
    /// Bundle-relative paths the run file mounts (they must be in the zip).
    pub mounts: Vec<String>,
    /// What the format cannot express, each with the reason: the bundle would run something
    /// other than the compose file, so it is refused unless the loss is allowed.
    pub lossy: Vec<String>,
}

impl RunFiles {
    /// Refuse the loss unless `allowed`; with it, the losses become warnings.
    pub fn check_lossy(&mut self, format: BundleFormat, allowed: bool) -> Result<(), BundleError> {
        if self.lossy.is_empty() {
            return Ok(());
        }
        if allowed {
            self.notes
                .extend(self.lossy.iter().map(|l| format!("lossy (allowed): {l}")));
            return Ok(());
        }
        Err(BundleError::Lossy {
            format: format.as_str().to_owned(),
            losses: self.lossy.clone(),
        })
    }
}

/// Runtime keys in use by `service` that `supported` does not list, as lossy entries.
fn unsupported_runtime(
    name: &str,
    service: &Service,
    supported: &[&str],
    format: &str,
    lossy: &mut Vec<String>,
) {
    for key in service.runtime.keys_in_use() {
        if supported.contains(&key) {
            continue;
        }
        let why = match key {
            "secrets/configs" => "the files would have to travel in the bundle; give their \
                                  values as environment properties instead"
                .to_owned(),
            _ => format!("{format} has no equivalent"),
        };
        lossy.push(format!("service `{name}`: `{key}`: {why}"));
    }
}

/// Render `input` as `format`.
pub fn render(format: BundleFormat, input: &RenderInput<'_>) -> Result<RunFiles, BundleError> {
    match format {
        BundleFormat::V2 => v2::render(input),
        BundleFormat::V1 => v1::render(input),
        BundleFormat::Compose => compose::render(input),
    }
}

/// The image `name` runs: our pin, the registry's digest recorded for an image that is not ours,
/// or the compose file's own reference (noted when it is not pinned).
fn image_of(
    name: &str,
    service: &Service,
    input: &RenderInput<'_>,
    notes: &mut Vec<String>,
) -> Result<String, BundleError> {
    if let Some(pin) = input.pins.of(name) {
        return Ok(pin.reference.clone());
    }
    if service.build.is_some() {
        return Err(BundleError::Invalid(format!(
            "service `{name}` is built from source but is not one of the release's images; \
             Elastic Beanstalk instances never build. Give it docker/{name}/<env>/Dockerfile so \
             `release` tags it, or use a published `image:`"
        )));
    }
    let Some(image) = service.image.clone() else {
        return Err(BundleError::Invalid(format!(
            "service `{name}` has neither an image nor a build section"
        )));
    };
    if let Some(third) = input.pins.third_party_of(&image)
        && third.pinned
    {
        return Ok(third.reference.clone());
    }
    if !super::image_ref::ImageRef::parse(&image).is_pinned() {
        notes.push(format!(
            "service `{name}` runs `{image}`, which is not ours and not pinned by digest: \
             instances pull whatever the tag points at when they start"
        ));
    }
    Ok(image)
}

/// The environment values that go into the run file: literals only, in file order. Keys left
/// to the environment's properties are listed in `notes` once per service.
fn literal_environment(
    name: &str,
    service: &Service,
    input: &RenderInput<'_>,
    notes: &mut Vec<String>,
) -> Vec<(String, String)> {
    let variable = input.raw.get(name).map(|r| &r.variable_env);
    let mut literal = Vec::new();
    let mut left = Vec::new();
    for (key, value) in &service.environment {
        match value {
            Some(value) if variable.is_none_or(|v| !v.contains_key(key)) => {
                literal.push((key.clone(), value.clone()));
            }
            _ => left.push(key.as_str()),
        }
    }
    if !left.is_empty() {
        notes.push(format!(
            "service `{name}`: {} come{} from variables and {} left to the environment's \
             properties (set them with `deploy --sync-env`)",
            left.join(", "),
            if left.len() == 1 { "s" } else { "" },
            if left.len() == 1 { "is" } else { "are" }
        ));
    }
    literal
}

/// One published port as the bundle writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Published {
    host: Option<u16>,
    container: u16,
    protocol: Protocol,
}

/// Every service's published ports, with the entry rule applied (see [`entry::choose`]): the
/// chosen service's port is moved to host port 80. Host addresses are lossy.
fn published_ports(
    input: &RenderInput<'_>,
    notes: &mut Vec<String>,
    lossy: &mut Vec<String>,
) -> Result<BTreeMap<String, Vec<Published>>, BundleError> {
    let compose = input.compose;
    let mut out: BTreeMap<String, Vec<Published>> = BTreeMap::new();
    for (name, service) in &compose.services {
        let mut ports = Vec::new();
        for mapping in &service.ports {
            ports.push(Published {
                host: single_host_port(name, mapping)?,
                container: mapping.container_port,
                protocol: mapping.protocol,
            });
            if let Some(ip) = &mapping.host_ip {
                lossy.push(format!(
                    "service `{name}`: port {} is published on host address {ip} only; \
                     instances publish on all addresses",
                    mapping.container_port
                ));
            }
        }
        out.insert(name.clone(), ports);
    }
    if let Some(choice) = entry::choose(compose, input.web, &out)? {
        let ports = out.entry(choice.service.clone()).or_default();
        let moved = match choice.index {
            Some(index) => ports.get_mut(index),
            None => {
                ports.push(Published {
                    host: None,
                    container: choice.container_port,
                    protocol: Protocol::Tcp,
                });
                ports.last_mut()
            }
        };
        if let Some(port) = moved
            && port.host != Some(80)
        {
            port.host = Some(80);
        }
        notes.push(format!(
            "Elastic Beanstalk routes port 80 to service `{}` (container port {}): {}. Set \
             `web_service` for the environment in stevedore.toml to choose another",
            choice.service, choice.container_port, choice.reason
        ));
    }
    Ok(out)
}

fn single_host_port(service: &str, mapping: &PortMapping) -> Result<Option<u16>, BundleError> {
    match mapping.host_port {
        None => Ok(None),
        Some(HostPort { start, end }) if start == end => Ok(Some(start)),
        Some(range) => Err(BundleError::Invalid(format!(
            "service `{service}` publishes port {} on the host range {range}; Elastic Beanstalk \
             needs one host port per container port",
            mapping.container_port
        ))),
    }
}

/// Where a bind mount's host side comes from on the instance.
#[derive(Debug, Clone, PartialEq, Eq)]
enum BindSource {
    /// A path inside the project, so inside the bundle: bundle-relative, `/`-separated.
    Bundle(String),
    /// An absolute path outside the project: the instance's own file system.
    Host(String),
}

/// Where bind mount `source` of `service` comes from: a project path travels in the bundle; a
/// path outside the project is the instance's own (noted: it must exist there).
fn bind_source(root: &Path, service: &str, source: &str, notes: &mut Vec<String>) -> BindSource {
    let root = lexical_clean(root);
    let source_path = lexical_clean(Path::new(source));
    match source_path.strip_prefix(&root) {
        Ok(rel) => BindSource::Bundle(
            rel.components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/"),
        ),
        Err(_) => {
            notes.push(format!(
                "service `{service}` mounts {source} from outside the project: it becomes a \
                 path on the instance, which must exist there (e.g. made by .ebextensions)"
            ));
            BindSource::Host(source_path.display().to_string())
        }
    }
}

/// `.` and `..` resolved without touching the file system.
fn lexical_clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `/var/app/current/<rel>` (the app directory itself for the project root).
fn app_path(rel: &str) -> String {
    if rel.is_empty() {
        APP_DIR.to_owned()
    } else {
        format!("{APP_DIR}/{rel}")
    }
}

#[cfg(test)]
mod tests;
