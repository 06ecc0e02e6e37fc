//! What an environment's images are built from: one [`Target`] per service that builds (a
//! compose `build:` section, or `docker/<service>/<env>/Dockerfile`), its context listed with
//! Docker's `.dockerignore` rules and checked for secrets before anything is sent.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::BuildScope;
use crate::compose;
use crate::engine::buildkit::secrets::{self as build_secrets, BuildSecrets, SecretSpecError};
use crate::engine::labels;
use crate::exit::{CommandError, ExitStatus};
use crate::ignore::docker::{self as dockerignore, ContextEntry, DockerIgnore, EntryKind};
use crate::output::Event;
use crate::secrets;

/// One image to build.
#[derive(Debug, Clone)]
pub struct Target {
    /// The service.
    pub service: String,
    /// The context directory.
    pub context_root: PathBuf,
    /// Relative to `context_root`, `/`-separated.
    pub dockerfile: String,
    /// The local tag, `<project>-<service>:<env>`.
    pub tag: String,
    /// The compose `image:` of a service that also has `build:`: Compose tags what it builds
    /// with that name, so `docker run`/other tools find it there too.
    pub image_name: Option<String>,
    /// Build arguments from the compose file (the command line adds to them).
    pub args: HashMap<String, String>,
    /// The multi-stage target.
    pub stage: Option<String>,
    /// Platform, cache sources, network, hosts, `/dev/shm`, SSH from the compose file.
    pub settings: crate::engine::build::BuildSettings,
    /// Build secrets from the compose file (`build.secrets`).
    pub secrets: BuildSecrets,
    /// Compose `build.no_cache`.
    pub no_cache: bool,
    /// Compose `build.pull`.
    pub pull: bool,
}

/// What to build: every compose service with a `build` section (context anywhere, Dockerfile
/// relative to it, as Compose does), plus every `docker/<service>/<env>/Dockerfile` that the
/// compose file does not already build. `only` keeps one service. `compose_override` (`-f`) is
/// a path the caller resolved.
pub fn targets(
    scope: &BuildScope,
    emit: &(dyn Fn(Event) + Sync),
    compose_override: Option<&Path>,
    only: Option<&str>,
) -> anyhow::Result<Vec<Target>> {
    let root = &scope.project.root;
    let mut all: Vec<Target> = Vec::new();
    if let Some(compose) = compose_file_of(scope, compose_override, emit)? {
        for (name, service) in &compose.services {
            let Some(build) = &service.build else {
                continue;
            };
            let dockerfile = if build.dockerfile.is_absolute() {
                build.dockerfile.clone()
            } else {
                build.context.join(&build.dockerfile)
            };
            all.push(Target {
                service: name.clone(),
                context_root: build.context.clone(),
                dockerfile: relative_slash(&dockerfile, &build.context),
                tag: labels::local_tag(&scope.project_name, name, &scope.env.name),
                image_name: service.image.clone(),
                args: build
                    .args
                    .iter()
                    .filter_map(|(k, v)| {
                        v.clone()
                            .or_else(|| std::env::var(k).ok())
                            .map(|v| (k.clone(), v))
                    })
                    .collect(),
                stage: build.target.clone(),
                settings: crate::engine::build::BuildSettings {
                    platform: build.platform.clone(),
                    cache_from: build.cache_from.clone(),
                    network: build.network.clone(),
                    extra_hosts: build.extra_hosts.clone(),
                    shm_size: build.shm_size,
                    ssh: build.ssh.clone(),
                },
                secrets: compose_secrets(build, &compose.secrets)?,
                no_cache: build.no_cache,
                pull: build.pull,
            });
        }
    }
    for service in &scope.env.services {
        let Some(dockerfile) = &service.dockerfile else {
            continue;
        };
        if all.iter().any(|t| t.service == service.name) {
            continue;
        }
        all.push(Target {
            service: service.name.clone(),
            context_root: root.clone(),
            dockerfile: relative_slash(dockerfile, root),
            tag: labels::local_tag(&scope.project_name, &service.name, &scope.env.name),
            image_name: None,
            args: HashMap::new(),
            stage: None,
            settings: Default::default(),
            secrets: BuildSecrets::default(),
            no_cache: false,
            pull: false,
        });
    }
    if all.is_empty() {
        return Err(CommandError::new(
            ExitStatus::InvalidInput,
            format!(
                "environment `{env}` has no image to build: add docker/<service>/{env}/Dockerfile \
                 or a `build:` section to its compose file",
                env = scope.env.name
            ),
        )
        .into());
    }
    match only {
        None => Ok(all),
        Some(name) => {
            let names: Vec<&str> = all.iter().map(|t| t.service.as_str()).collect();
            let chosen: Vec<Target> = all.iter().filter(|t| t.service == name).cloned().collect();
            if chosen.is_empty() {
                return Err(CommandError::new(
                    ExitStatus::InvalidInput,
                    format!(
                        "environment `{}` has no buildable service `{name}`; services: {}",
                        scope.env.name,
                        names.join(", ")
                    ),
                )
                .into());
            }
            Ok(chosen)
        }
    }
}

/// The values of a compose service's `build.secrets`, read from the top-level `secrets:`
/// entries they name (files, environment variables).
fn compose_secrets(
    build: &compose::Build,
    declared: &indexmap::IndexMap<String, compose::SecretDef>,
) -> Result<BuildSecrets, SecretSpecError> {
    let mut out = HashMap::new();
    for reference in &build.secrets {
        let id = reference.id();
        let def = declared.get(&reference.source).cloned().unwrap_or_default();
        let value = match (&def.file, &def.environment) {
            (Some(path), _) => build_secrets::read_file(id, path)?,
            (None, Some(var)) => build_secrets::read_env(id, var)?,
            (None, None) => {
                return Err(SecretSpecError::NoSource {
                    id: id.to_owned(),
                    source_name: reference.source.clone(),
                });
            }
        };
        out.insert(id.to_owned(), value);
    }
    Ok(BuildSecrets(out))
}

/// The services of `env`'s compose project that have a `build:` section, in file order: with
/// the `docker/<service>/<env>/Dockerfile`s, what a release builds and publishes (a project
/// may have only a compose file).
pub fn compose_built_services(
    env: &crate::project::Environment,
) -> Result<Vec<String>, compose::ComposeError> {
    let dotenv = env.dir.join(".env");
    let selection = compose::Selection::default();
    let file = compose::load_selected(
        &selection,
        env.compose_file.as_deref(),
        Some(&dotenv),
        false,
    )?;
    Ok(file
        .map(|file| {
            file.services
                .iter()
                .filter(|(_, service)| service.build.is_some())
                .map(|(name, _)| name.clone())
                .collect()
        })
        .unwrap_or_default())
}

/// The environment's compose file (or `-f`), loaded for its build sections. Its env files are
/// not read: a build does not need the runtime secrets.
fn compose_file_of(
    scope: &BuildScope,
    compose_override: Option<&Path>,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<Option<compose::ComposeFile>> {
    let files = match compose_override {
        Some(path) => {
            if !path.is_file() {
                return Err(CommandError::new(
                    ExitStatus::InvalidInput,
                    format!("compose file {} does not exist", path.display()),
                )
                .into());
            }
            vec![path.to_path_buf()]
        }
        None => Vec::new(),
    };
    let selection = compose::Selection {
        files,
        ..compose::Selection::default()
    };
    let dotenv = scope.env.dir.join(".env");
    let default = scope.env.compose_file.as_deref();
    let Some(file) = compose::load_selected(&selection, default, Some(&dotenv), false)? else {
        return Ok(None);
    };
    for warning in &file.warnings {
        emit(Event::warning(warning.clone()));
    }
    Ok(Some(file))
}

fn relative_slash(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// A target with its context listed and checked: ready to send.
pub struct Prepared {
    /// What to build.
    pub target: Target,
    /// Its context, as it will be sent.
    pub entries: Vec<ContextEntry>,
}

/// List each context and refuse secrets before anything is sent.
pub fn prepare(targets: Vec<Target>, allowed: &[PathBuf]) -> anyhow::Result<Vec<Prepared>> {
    let mut prepared = Vec::new();
    for target in targets {
        if !target.context_root.join(&target.dockerfile).is_file() {
            return Err(CommandError::new(
                ExitStatus::InvalidInput,
                format!(
                    "{}: Dockerfile {} does not exist in the context {}",
                    target.service,
                    target.dockerfile,
                    target.context_root.display()
                ),
            )
            .into());
        }
        let ignore_file = dockerignore::ignore_file_for(&target.context_root, &target.dockerfile);
        let ignore = DockerIgnore::read(&ignore_file)?;
        let entries = dockerignore::context_entries(
            &target.context_root,
            &ignore,
            &[target.dockerfile.as_str(), dockerignore::DOCKERIGNORE_FILE],
        )?;
        let files = entries
            .iter()
            .filter(|e| e.kind == EntryKind::File)
            .map(|e| e.rel_path.as_str());
        let scan = secrets::scan_context(&target.context_root, files, allowed);
        // The ignore file as the fixes name it, relative to the context.
        let ignore_name = ignore_file
            .strip_prefix(&target.context_root)
            .unwrap_or(&ignore_file)
            .to_string_lossy()
            .into_owned();
        if !scan.hits.is_empty() {
            return Err(CommandError::new(
                ExitStatus::InvalidInput,
                secrets::describe(
                    &scan.hits,
                    &ignore_name,
                    &format!("the build context of {} ({})", target.service, target.tag),
                ),
            )
            .into());
        }
        if let Some((rel, err)) = scan.unreadable {
            return Err(unreadable(&target, &rel, &err, &ignore_name).into());
        }
        prepared.push(Prepared { target, entries });
    }
    Ok(prepared)
}

/// The error for a context file that cannot be read: found by the secret scan, which opens
/// nearly every file anyway, before the daemon is contacted (half a context sent would be
/// worse; a file the scan does not open is caught while it is sent).
fn unreadable(target: &Target, rel: &str, err: &std::io::Error, ignore_file: &str) -> CommandError {
    let path = target.context_root.join(rel);
    CommandError::new(
        ExitStatus::InvalidInput,
        format!(
            "cannot read {} for the build context of {} ({}): {err}. Make it readable (e.g. \
             `chmod a+r {}`), or leave it out of the context with a line `{rel}` in {ignore_file}",
            path.display(),
            target.service,
            target.tag,
            path.display(),
        ),
    )
}
