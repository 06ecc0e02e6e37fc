//! Building an environment's images: the core behind `image build|update`, `start` (missing
//! images) and `release` (the versioned build). Reports progress as [`Event`]s through a
//! callback; never sees clap or the printer.

pub mod deadline;
pub mod destroy;
pub mod listing;
pub mod plan;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use bollard::Docker;

use crate::engine::build::{self, BuildProgress, BuildRequest};
use crate::engine::labels;
use crate::git::Git;
use crate::output::Event;
use crate::project::{Environment, Loaded, Project};
use plan::Prepared;

/// The build argument a `release` build passes the version in (declare `ARG APP_VERSION` in a
/// Dockerfile to use it).
pub const VERSION_BUILD_ARG: &str = "APP_VERSION";

/// The environment whose images are built, and the names derived from the configuration.
pub struct BuildScope {
    /// The project.
    pub project: Project,
    /// The environment.
    pub env: Environment,
    /// The stevedore project name (local image tags).
    pub project_name: String,
    /// The environment's AWS profile, for base images on ECR.
    pub aws_profile: Option<String>,
}

impl BuildScope {
    /// Environment `env` of the loaded project (it must exist).
    pub fn load(loaded: &Loaded, env: &str) -> anyhow::Result<BuildScope> {
        Ok(BuildScope {
            project: loaded.project.clone(),
            env: loaded.project.environment(env)?,
            project_name: loaded.project_name(),
            aws_profile: loaded.settings().profile.get(),
        })
    }
}

/// How to build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// `-f`: another compose file (resolved by the caller).
    pub compose_override: Option<PathBuf>,
    /// Build only this service.
    pub only: Option<String>,
    /// Build arguments added to the compose file's.
    pub build_args: HashMap<String, String>,
    /// Labels added to stevedore's own.
    pub labels: HashMap<String, String>,
    /// Build without the cache.
    pub no_cache: bool,
    /// Pull newer base images.
    pub pull: bool,
    /// Files sent even though they look like secrets.
    pub allow_secrets: Vec<PathBuf>,
    /// `Rebuilding` rather than `Building` in messages.
    pub rebuild: bool,
    /// The builder asked for by flag or configuration (the environment may override `auto`).
    pub builder: Option<crate::engine::builder::BuilderChoice>,
    /// Build secrets for `RUN --mount=type=secret` (added to the compose file's).
    pub secrets: crate::engine::buildkit::secrets::BuildSecrets,
    /// `--target`: the multi-stage target (over the compose file's).
    pub target: Option<String>,
    /// Platform, cache sources, network, hosts, `/dev/shm`, SSH agents from flags (over the
    /// compose file's).
    pub settings: crate::engine::build::BuildSettings,
    /// How long all the builds together may take (`None`: [`deadline::DEFAULT_BUILD_TIMEOUT`]).
    pub timeout: Option<Duration>,
}

/// One image built.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BuiltImage {
    /// The service.
    pub service: String,
    /// Its local tag.
    pub tag: String,
    /// The image id.
    pub id: String,
    /// Dockerfile steps run.
    pub steps: usize,
    /// Files in the context.
    pub context_files: u64,
    /// Bytes in the context.
    pub context_bytes: u64,
}

/// Build the environment's images (all of them, or `options.only`), in order.
pub async fn build_all(
    docker: &Docker,
    scope: &BuildScope,
    options: &BuildOptions,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<Vec<BuiltImage>> {
    let prepared = prepare(scope, options, emit)?;
    build_prepared(docker, scope, prepared, options, emit).await
}

/// What [`build_all`] would send, listed and checked for secrets; needs no Docker Engine, so
/// bad input is reported before one is contacted.
pub fn prepare(
    scope: &BuildScope,
    options: &BuildOptions,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<Vec<Prepared>> {
    let targets = plan::targets(
        scope,
        emit,
        options.compose_override.as_deref(),
        options.only.as_deref(),
    )?;
    plan::prepare(targets, &options.allow_secrets)
}

/// Build what [`prepare`] returned.
pub async fn build_prepared(
    docker: &Docker,
    scope: &BuildScope,
    prepared: Vec<Prepared>,
    options: &BuildOptions,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<Vec<BuiltImage>> {
    let timeout = options.timeout.unwrap_or(deadline::DEFAULT_BUILD_TIMEOUT);
    let until = tokio::time::Instant::now() + timeout;
    let mut built: Vec<BuiltImage> = Vec::new();
    for Prepared { target, entries } in prepared {
        emit(Event::step(format!(
            "{} {} from {} as {}",
            if options.rebuild {
                "Rebuilding"
            } else {
                "Building"
            },
            target.service,
            target.dockerfile,
            target.tag
        )));
        let mut image_labels = image_labels(scope, &target.service);
        image_labels.extend(options.labels.clone());
        let request = BuildRequest {
            context_root: target.context_root.clone(),
            entries,
            dockerfile: target.dockerfile.clone(),
            tag: target.tag.clone(),
            labels: image_labels,
            build_args: target
                .args
                .clone()
                .into_iter()
                .chain(options.build_args.clone())
                .collect(),
            no_cache: options.no_cache || target.no_cache,
            pull: options.pull || target.pull,
            target: options.target.clone().or_else(|| target.stage.clone()),
            builder: crate::engine::builder::BuilderChoice::resolve(
                options.builder,
                scope.project.config.image.builder,
            ),
            secrets: {
                let mut secrets = target.secrets.clone();
                secrets.0.extend(options.secrets.0.clone());
                secrets
            },
            settings: target.settings.clone().overlaid(&options.settings),
            aws_profile: scope.aws_profile.clone(),
        };
        let service = target.service.clone();
        // What the tag names before, so a cut build can say whether it changed it.
        let mut tag_before = None;
        let building = async {
            tag_before = crate::engine::images::image_id(docker, &target.tag).await?;
            let outcome =
                build::build(docker, request, |p| report_progress(emit, &service, p)).await?;
            if let Some(name) = &target.image_name {
                crate::engine::images::retag(docker, &outcome.image_id, name).await?;
            }
            anyhow::Ok(outcome)
        };
        let Ok(outcome) = tokio::time::timeout_at(until, building).await else {
            let now = deadline::tag_now(docker, &target.tag).await;
            let built_before: Vec<String> = built.iter().map(|b| b.service.clone()).collect();
            let cut = deadline::CutBuild {
                service: &target.service,
                tag: &target.tag,
                tag_before: tag_before.as_deref(),
                built_before: &built_before,
                timeout,
            };
            return Err(deadline::timed_out(&cut, now, &crate::engine::docker_host()).into());
        };
        let outcome = outcome?;
        let short_id = short_id(&outcome.image_id);
        emit(Event::success(format!(
            "{} built: {} ({short_id}), context {} files, {}",
            target.service,
            target.tag,
            outcome.context.files,
            human_bytes(outcome.context.bytes)
        )));
        built.push(BuiltImage {
            service: target.service,
            tag: target.tag,
            id: outcome.image_id,
            steps: outcome.steps,
            context_files: outcome.context.files,
            context_bytes: outcome.context.bytes,
        });
    }
    Ok(built)
}

/// What the build flags ask for, as given on the command line.
#[derive(Debug, Clone, Default)]
pub struct BuildFlags {
    /// `--platform`.
    pub platform: Option<String>,
    /// `--cache-from`.
    pub cache_from: Vec<String>,
    /// `--network`.
    pub network: Option<String>,
    /// `--add-host` (`host:ip` or `host=ip`).
    pub add_hosts: Vec<String>,
    /// `--shm-size` (`256m`).
    pub shm_size: Option<String>,
    /// `--ssh`.
    pub ssh: Vec<String>,
}

/// The build settings the flags give, checked.
pub fn build_settings_from_flags(
    args: BuildFlags,
) -> anyhow::Result<crate::engine::build::BuildSettings> {
    let shm_size = match &args.shm_size {
        Some(text) => Some(crate::compose::parse_size(text).ok_or_else(|| {
            crate::exit::CommandError::new(
                crate::exit::ExitStatus::Usage,
                format!("--shm-size `{text}` is not a size; write e.g. 256m or 2g"),
            )
        })?),
        None => None,
    };
    for host in &args.add_hosts {
        if !host.contains([':', '=']) {
            return Err(crate::exit::CommandError::new(
                crate::exit::ExitStatus::Usage,
                format!("--add-host `{host}` has no address; write --add-host HOST:IP"),
            )
            .into());
        }
    }
    Ok(crate::engine::build::BuildSettings {
        platform: args.platform,
        cache_from: args.cache_from,
        network: args.network,
        extra_hosts: args
            .add_hosts
            .iter()
            .map(|h| match h.split_once('=') {
                Some((host, ip)) => format!("{host}:{ip}"),
                None => h.clone(),
            })
            .collect(),
        shm_size,
        ssh: args.ssh,
    })
}

/// The labels every image gets: where it came from, so `release` can trust it.
fn image_labels(scope: &BuildScope, service: &str) -> HashMap<String, String> {
    let git = Git::new(&scope.project.root);
    let (commit, dirty) = match git.state() {
        Ok(state) => (
            state.head.unwrap_or_else(|| "none".into()),
            !state.dirty.is_empty(),
        ),
        Err(_) => ("none".into(), true),
    };
    HashMap::from([
        (labels::PROJECT.to_owned(), scope.project_name.clone()),
        (labels::ENVIRONMENT.to_owned(), scope.env.name.clone()),
        (labels::SERVICE.to_owned(), service.to_owned()),
        (labels::COMMIT.to_owned(), commit),
        (labels::DIRTY.to_owned(), dirty.to_string()),
        (
            labels::TOOL_VERSION.to_owned(),
            env!("CARGO_PKG_VERSION").to_owned(),
        ),
    ])
}

fn report_progress(emit: &(dyn Fn(Event) + Sync), service: &str, progress: BuildProgress) {
    match progress {
        BuildProgress::Step {
            number,
            total,
            instruction,
        } => emit(Event::info(format!(
            "{service}: Step {number}/{total} : {instruction}"
        ))),
        BuildProgress::Output(line) => emit(Event::debug(format!("{service}: {line}"))),
        BuildProgress::Note(line) => emit(Event::info(format!("{service}: {line}"))),
        BuildProgress::Done {
            instruction,
            status,
        } => emit(Event::info(format!("{service}: {instruction} {status}"))),
        BuildProgress::Pull {
            id,
            status,
            current,
            total,
        } => match (current, total) {
            (Some(current), Some(total)) if total > 0 => emit(Event::Progress {
                id: format!("pull-{id}"),
                message: format!("{service}: {status} {id}"),
                current: u64::try_from(current).unwrap_or(0),
                total: u64::try_from(total).ok(),
            }),
            _ => emit(Event::debug(format!("{service}: {status} {id}"))),
        },
    }
}

/// An image id as the Docker CLI shows it: `sha256:0123…` → `0123456789ab`.
pub fn short_id(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

/// `bytes` for people: `512 B`, `6.5 KiB`, `1.2 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn sizes() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 * 1024 * 1024), "5.0 MiB");
    }
}
