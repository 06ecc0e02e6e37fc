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
//! - the load balancer forwards to port 80 of the instance: unless a service already publishes
//!   host port 80, the first published port is moved there.

mod compose;
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

/// Every service's published ports, with the entry rule applied: when no service publishes host
/// port 80, the first published port (in file order) is moved to host port 80.
fn published_ports(
    compose: &ComposeFile,
    notes: &mut Vec<String>,
) -> Result<BTreeMap<String, Vec<Published>>, BundleError> {
    let mut out: BTreeMap<String, Vec<Published>> = BTreeMap::new();
    for (name, service) in &compose.services {
        let mut ports = Vec::new();
        for mapping in &service.ports {
            ports.push(Published {
                host: single_host_port(name, mapping)?,
                container: mapping.container_port,
                protocol: mapping.protocol,
            });
            if mapping.host_ip.is_some() {
                notes.push(format!(
                    "service `{name}`: the host address of port {} is dropped; instances publish \
                     on all addresses",
                    mapping.container_port
                ));
            }
        }
        out.insert(name.clone(), ports);
    }
    let has_80 = out
        .values()
        .flatten()
        .any(|p| p.host == Some(80) && p.protocol == Protocol::Tcp);
    if !has_80 {
        let first = compose.services.keys().find_map(|name| {
            let index = out
                .get(name)?
                .iter()
                .position(|p| p.protocol == Protocol::Tcp)?;
            Some((name.clone(), index))
        });
        if let Some((name, index)) = first
            && let Some(port) = out.get_mut(&name).and_then(|p| p.get_mut(index))
        {
            notes.push(format!(
                "service `{name}`: port {}:{} is published as 80:{} (the load balancer forwards \
                 to port 80 of the instance)",
                port.host.map_or_else(|| "-".to_owned(), |h| h.to_string()),
                port.container,
                port.container
            ));
            port.host = Some(80);
        }
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

/// The bundle-relative path of a bind mount's host side, which must be inside the project.
fn bundle_path(root: &Path, service: &str, source: &str) -> Result<String, BundleError> {
    let root = lexical_clean(root);
    let source_path = lexical_clean(Path::new(source));
    let rel = source_path.strip_prefix(&root).map_err(|_| {
        BundleError::Invalid(format!(
            "service `{service}` mounts {source}, outside the project: only files inside the \
             project can travel in the bundle"
        ))
    })?;
    Ok(rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/"))
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
