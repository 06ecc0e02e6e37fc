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

mod build;
mod duration;
mod error;
mod fields;
mod files;
mod hash;
mod interpolate;
mod lines;
mod merge;
mod model;
mod mounts;
mod normalize;
mod order;
mod paths;
mod ports;
mod profiles;
pub mod runtime;
mod selection;
mod service;
mod shellwords;
mod variables;
mod yaml;

#[cfg(test)]
mod table_tests;

use std::path::Path;

pub use build::parse_size;
pub(crate) use duration::format as format_duration;
pub(crate) use duration::parse as parse_duration;
pub use error::ComposeError;
pub use files::Request;
pub use interpolate::{Variables, process_env_over};
pub use model::{
    Build, BuildSecretRef, ComposeFile, Condition, EnvFile, ExposedPort, ExternalLink, Format,
    Healthcheck, HostPort, Ipam, IpamPool, Link, Mount, MountKind, NetworkDef, PortMapping,
    Protocol, Restart, SecretDef, Service, ServiceNetwork, VolumeDef, VolumesFrom,
    VolumesFromSource,
};
pub(crate) use order::dependencies;
pub use selection::{Selection, load_selected};
pub(crate) use shellwords::split as split_command;
pub use variables::{ProjectVariables, override_file};

/// Apply YAML merge keys (`<<: *a`, `<<: [*a, *b]`) at every depth of `value`, anchors that
/// merge anchors included, as the loader does.
pub fn apply_merge_keys(value: &mut serde_norway::Value) -> Result<(), &'static str> {
    yaml::resolve_merges(value)
}

/// Docker's rule for the names of services, volumes and networks: a letter or digit, then
/// letters, digits, `_`, `.` and `-` (they end up in object names and hostnames).
pub(crate) fn is_docker_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Read and load the compose file at `path`. `vars` answers `${VAR}` lookups (and `HOME` for
/// `~`); [`process_env_over`] gives Compose's own source, the process environment over `.env`.
/// Profiles come from `COMPOSE_PROFILES` in `vars`.
pub fn load(path: &Path, vars: Variables<'_>) -> Result<ComposeFile, ComposeError> {
    load_one(path, vars, true)
}

/// Load the compose file at `path` for building images only: `env_file:` files are not read
/// (they hold runtime secrets, are often git-ignored, and play no part in a build), so each
/// service's resolved environment holds only its `environment:` entries.
pub fn load_for_build(path: &Path, vars: Variables<'_>) -> Result<ComposeFile, ComposeError> {
    load_one(path, vars, false)
}

/// Load compose `text` as if read from `path`: relative paths in it are resolved against
/// `path`'s directory, and messages name `path`. Files named by `env_file:` are read.
pub fn parse(text: &str, path: &Path, vars: Variables<'_>) -> Result<ComposeFile, ComposeError> {
    let files = [path.to_owned()];
    let request = Request {
        files: &files,
        vars,
        profiles: None,
        targeted: &[],
        read_env_files: true,
    };
    files::load(&request, Some(text))
}

/// Load a project of one or more compose files (`-f a.yml -f b.yml`, or a file and its
/// override file): each file's `extends` resolved, the files merged by the Compose merge rules,
/// `include`d projects added, services whose profiles are all off left out.
pub fn load_project(request: &Request<'_>) -> Result<ComposeFile, ComposeError> {
    files::load(request, None)
}

fn load_one(
    path: &Path,
    vars: Variables<'_>,
    read_env_files: bool,
) -> Result<ComposeFile, ComposeError> {
    let files = [path.to_owned()];
    load_project(&Request {
        files: &files,
        vars,
        profiles: None,
        targeted: &[],
        read_env_files,
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
