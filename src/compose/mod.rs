//! Compose files, legacy v1 and the Compose spec, read into one typed model.
//!
//! The pipeline: YAML text → `serde_norway::Value` → merge keys (`<<: *base`) applied → a v1
//! file (services at the top level) wrapped into `services:` → `${VAR}` interpolation →
//! the typed, lenient model ([`ComposeFile`]) → validation (references between services,
//! declared volumes and networks, no dependency cycles). Errors name the file, the line, the key
//! and what was expected; unknown keys are warnings, not errors.
//!
//! Loading reads the files named by `env_file:` (with our dotenv parser, never a shell), since
//! the container's environment — and so [`Service::config_hash`] — depends on them.

mod duration;
mod error;
mod fields;
mod hash;
mod interpolate;
mod model;
mod mounts;
mod normalize;
mod order;
mod paths;
mod ports;
pub mod runtime;
mod service;
mod shellwords;
mod yaml;

#[cfg(test)]
mod table_tests;

use std::path::Path;

use serde_norway::Value;

pub(crate) use duration::parse as parse_duration;
pub use error::ComposeError;
pub use interpolate::{Variables, process_env_over};
pub use model::{
    Build, ComposeFile, Condition, EnvFile, ExposedPort, ExternalLink, Format, Healthcheck,
    HostPort, Ipam, IpamPool, Link, Mount, MountKind, NetworkDef, PortMapping, Protocol, Restart,
    Service, ServiceNetwork, VolumeDef, VolumesFrom, VolumesFromSource,
};
pub(crate) use order::dependencies;
pub(crate) use shellwords::split as split_command;

use fields::{Cx, describe};
use yaml::{KeyPath, Source};

/// Docker's rule for the names of services, volumes and networks: a letter or digit, then
/// letters, digits, `_`, `.` and `-` (they end up in object names and hostnames).
pub(crate) fn is_docker_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Read and load the compose file at `path`. `vars` answers `${VAR}` lookups (and `HOME` for
/// `~`); [`process_env_over`] gives Compose's own source, the process environment over `.env`.
pub fn load(path: &Path, vars: Variables<'_>) -> Result<ComposeFile, ComposeError> {
    let text = fs_err::read_to_string(path).map_err(|source| ComposeError::Read {
        file: path.to_owned(),
        source,
    })?;
    parse(&text, path, vars)
}

/// Load the compose file at `path` for building images only: `env_file:` files are not read
/// (they hold runtime secrets, are often git-ignored, and play no part in a build), so each
/// service's resolved environment holds only its `environment:` entries.
pub fn load_for_build(path: &Path, vars: Variables<'_>) -> Result<ComposeFile, ComposeError> {
    let text = fs_err::read_to_string(path).map_err(|source| ComposeError::Read {
        file: path.to_owned(),
        source,
    })?;
    parse_with(&text, path, vars, false)
}

/// Load compose `text` as if read from `path`: relative paths in it are resolved against
/// `path`'s directory, and messages name `path`. Files named by `env_file:` are read.
pub fn parse(text: &str, path: &Path, vars: Variables<'_>) -> Result<ComposeFile, ComposeError> {
    parse_with(text, path, vars, true)
}

fn parse_with(
    text: &str,
    path: &Path,
    vars: Variables<'_>,
    read_env_files: bool,
) -> Result<ComposeFile, ComposeError> {
    let mut source = Source::new(path, text);
    let root = match source.parse()? {
        Value::Mapping(map) => map,
        Value::Null => {
            return Err(ComposeError::Invalid {
                file: path.to_owned(),
                line: 1,
                key: KeyPath::root().to_string(),
                problem: "the file is empty".into(),
                expected: "`services:` with at least one service".into(),
            });
        }
        other => {
            return Err(ComposeError::Invalid {
                file: path.to_owned(),
                line: 1,
                key: KeyPath::root().to_string(),
                problem: format!("the file holds {}", describe(&other)),
                expected: "a mapping with `services:` (or, in the legacy v1 format, services \
                           at the top level)"
                    .into(),
            });
        }
    };
    let format = normalize::detect_format(&root);
    let mut root = match format {
        Format::V1 => {
            source.v1 = true;
            Value::Mapping(normalize::wrap_v1(root))
        }
        Format::Spec => Value::Mapping(root),
    };
    let mut warnings = Vec::new();
    interpolate::interpolate_document(&mut root, &source, vars, &mut warnings)?;

    let base_dir = base_dir(path)?;
    let mut cx = Cx {
        source: &source,
        base_dir: &base_dir,
        vars,
        read_env_files,
        warnings,
    };
    let Value::Mapping(root) = root else {
        // Interpolation changes scalars only; the root is still the mapping it was.
        return Err(ComposeError::Invalid {
            file: path.to_owned(),
            line: 1,
            key: KeyPath::root().to_string(),
            problem: "the document changed shape during interpolation".into(),
            expected: "a mapping".into(),
        });
    };
    let file = normalize::document(&mut cx, &root, format)?;
    // Compose refuses cycles at load time; so do we, so `start` never meets one half-way.
    file.startup_order()?;
    Ok(file)
}

/// The compose file's directory, absolute and cleaned (Docker needs absolute bind sources).
fn base_dir(path: &Path) -> Result<std::path::PathBuf, ComposeError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::path::absolute(dir)
        .map(|dir| paths::clean(&dir))
        .map_err(|source| ComposeError::Read {
            file: path.to_owned(),
            source,
        })
}

impl ComposeFile {
    /// Services grouped into layers: every service's dependencies (`depends_on`, `links`,
    /// `volumes_from` of a service) are in earlier layers, so a layer can start in parallel.
    /// Each layer is in file order. A dependency cycle is an error naming its services.
    pub fn startup_order(&self) -> Result<Vec<Vec<String>>, ComposeError> {
        order::layers(self)
    }

    /// The configuration hash of `service` (see [`Service::config_hash`]); `None` when the
    /// file has no such service.
    pub fn config_hash(&self, service: &str) -> Option<String> {
        self.services.get(service).map(Service::config_hash)
    }

    /// The 1-based line where `service` is defined, for messages about it.
    pub fn line_of(&self, service: &str) -> Option<usize> {
        self.lines.get(service).copied()
    }
}

impl Service {
    /// A stable sha256 (lowercase hex) of everything that shapes this service's container:
    /// image, command, entrypoint, the resolved environment, ports, expose, mounts,
    /// volumes_from, links, external links, health check, working dir, user, restart policy,
    /// labels, tty, stdin_open, container name, hostname and networks. `build` and `depends_on`
    /// are left out (the image ID is compared separately; start order is not configuration).
    /// Map order never matters.
    pub fn config_hash(&self) -> String {
        hash::config_hash(self)
    }

    /// The services this one waits for (`depends_on`, `links`, `volumes_from` of a service),
    /// in order of first mention, without repeats.
    pub fn dependencies(&self) -> Vec<&str> {
        order::dependencies(self)
    }
}
