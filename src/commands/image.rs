//! `stevedore image build|update|destroy|ls <env>`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::Context;
use crate::cli::{ImageAction, ImageBuildArgs, ImageSelectArgs};
use crate::compose;
use crate::engine::build::{self, BuildProgress, BuildRequest};
use crate::engine::{self, images, labels};
use crate::exit::{CommandError, ExitStatus};
use crate::git::Git;
use crate::ignore::docker::{self as dockerignore, ContextEntry, DockerIgnore, EntryKind};
use crate::output::{Event, Printer, Report};
use crate::project::{Environment, Project, settings};
use crate::secrets;

/// Run an `image` action.
pub async fn run(ctx: &Context, action: ImageAction) -> anyhow::Result<Report> {
    match action {
        ImageAction::Build(args) => build_images(ctx, args, false).await,
        ImageAction::Update(args) => build_images(ctx, args, true).await,
        ImageAction::Destroy(args) => destroy(ctx, args).await,
        ImageAction::Ls(args) => list(ctx, args).await,
    }
}

/// One image to build.
#[derive(Debug, Clone)]
struct Target {
    service: String,
    context_root: PathBuf,
    /// Relative to `context_root`, `/`-separated.
    dockerfile: String,
    tag: String,
    /// Build arguments from the compose file (the command line adds to them).
    args: HashMap<String, String>,
    /// The multi-stage target.
    stage: Option<String>,
}

/// The environment and the names derived from the configuration.
pub(super) struct Scope {
    /// The project.
    pub(super) project: Project,
    /// The environment.
    pub(super) env: Environment,
    /// The stevedore project name (local image tags).
    pub(super) project_name: String,
}

/// Resolve the environment and its settings.
pub(super) fn scope(ctx: &Context, env: &str) -> anyhow::Result<Scope> {
    let project = ctx.project()?;
    let environment = project.environment(env)?;
    let branch = Git::new(&project.root).eb_branch();
    let resolution = settings::load(&project, &ctx.flag_values(), &branch, Some(env))?;
    for warning in resolution.warnings {
        ctx.printer.emit(Event::warning(warning));
    }
    let project_name = resolution
        .settings
        .project_name
        .value
        .unwrap_or_else(|| project.default_name());
    Ok(Scope {
        project,
        env: environment,
        project_name,
    })
}

/// What to build: every compose service with a `build` section (context anywhere, Dockerfile
/// relative to it, as Compose does), plus every `docker/<service>/<env>/Dockerfile` that the
/// compose file does not already build. `only` keeps one service.
fn targets(
    ctx: &Context,
    scope: &Scope,
    compose_override: Option<&Path>,
    only: Option<&str>,
) -> anyhow::Result<Vec<Target>> {
    let root = &scope.project.root;
    let mut all: Vec<Target> = Vec::new();
    if let Some(compose) = compose_file_of(ctx, scope, compose_override)? {
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
            args: HashMap::new(),
            stage: None,
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

/// The environment's compose file (or `-f`), loaded for its build sections. Its env files are
/// not read: a build does not need the runtime secrets.
fn compose_file_of(
    ctx: &Context,
    scope: &Scope,
    compose_override: Option<&Path>,
) -> anyhow::Result<Option<compose::ComposeFile>> {
    let path = match compose_override {
        Some(path) => {
            let path = ctx.start_dir.join(path);
            if !path.is_file() {
                return Err(CommandError::new(
                    ExitStatus::InvalidInput,
                    format!("compose file {} does not exist", path.display()),
                )
                .into());
            }
            path
        }
        None => match &scope.env.compose_file {
            Some(path) => path.clone(),
            None => return Ok(None),
        },
    };
    let dotenv_path = scope.env.dir.join(".env");
    let dotenv = if dotenv_path.is_file() {
        Some(crate::project::dotenv::read(&dotenv_path)?)
    } else {
        None
    };
    let vars = compose::process_env_over(dotenv.as_ref());
    let file = compose::load_for_build(&path, &vars)?;
    for warning in &file.warnings {
        ctx.printer.emit(Event::warning(warning.clone()));
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
struct Prepared {
    target: Target,
    entries: Vec<ContextEntry>,
}

/// List each context and refuse secrets before anything is sent.
fn prepare(targets: Vec<Target>, allowed: &[PathBuf]) -> anyhow::Result<Vec<Prepared>> {
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
        let ignore =
            DockerIgnore::read(&target.context_root.join(dockerignore::DOCKERIGNORE_FILE))?;
        let entries = dockerignore::context_entries(
            &target.context_root,
            &ignore,
            &[target.dockerfile.as_str(), dockerignore::DOCKERIGNORE_FILE],
        )?;
        let files = entries
            .iter()
            .filter(|e| e.kind == EntryKind::File)
            .map(|e| e.rel_path.as_str());
        let hits = secrets::scan(&target.context_root, files, allowed);
        if !hits.is_empty() {
            return Err(CommandError::new(
                ExitStatus::InvalidInput,
                secrets::describe(
                    &hits,
                    ".dockerignore",
                    &format!("the build context of {} ({})", target.service, target.tag),
                ),
            )
            .into());
        }
        prepared.push(Prepared { target, entries });
    }
    Ok(prepared)
}

/// `KEY=VALUE`, or `KEY` alone to pass the variable from this process's environment (as
/// `docker build --build-arg KEY` does).
fn parse_build_args(args: &[String]) -> anyhow::Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    for arg in args {
        match arg.split_once('=') {
            Some((key, value)) if !key.is_empty() => {
                out.insert(key.to_owned(), value.to_owned());
            }
            Some(_) => {
                return Err(CommandError::new(
                    ExitStatus::Usage,
                    format!("--build-arg `{arg}` has no name; write --build-arg KEY=VALUE"),
                )
                .into());
            }
            None => {
                if let Ok(value) = std::env::var(arg) {
                    out.insert(arg.clone(), value);
                }
            }
        }
    }
    Ok(out)
}

/// The labels every image gets: where it came from, so `release` can trust it.
fn image_labels(scope: &Scope, service: &str) -> HashMap<String, String> {
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

/// Build an environment's images (`update`: from scratch). `start` calls it for missing images.
pub(super) async fn build_images(
    ctx: &Context,
    args: ImageBuildArgs,
    update: bool,
) -> anyhow::Result<Report> {
    let scope = scope(ctx, &args.select.env)?;
    let build_args = parse_build_args(&args.build_args)?;
    let secrets = engine::buildkit::secrets::load(&args.secrets)?;
    let prepared = prepare(
        targets(
            ctx,
            &scope,
            args.select.file.as_deref(),
            args.select.service.as_deref(),
        )?,
        &args.allow_secrets,
    )?;
    let docker = engine::connect().await?;
    let mut built = Vec::new();
    for Prepared { target, entries } in prepared {
        ctx.printer.emit(Event::step(format!(
            "{} {} from {} as {}",
            if update { "Rebuilding" } else { "Building" },
            target.service,
            target.dockerfile,
            target.tag
        )));
        let request = BuildRequest {
            context_root: target.context_root.clone(),
            entries,
            dockerfile: target.dockerfile.clone(),
            tag: target.tag.clone(),
            labels: image_labels(&scope, &target.service),
            build_args: target
                .args
                .clone()
                .into_iter()
                .chain(build_args.clone())
                .collect(),
            no_cache: args.no_cache || update,
            pull: args.pull,
            target: target.stage.clone(),
            builder: engine::builder::BuilderChoice::resolve(args.builder),
            secrets: secrets.clone(),
        };
        let printer = ctx.printer.clone();
        let service = target.service.clone();
        let outcome = build::build(&docker, request, move |p| {
            report_progress(&printer, &service, p)
        })
        .await?;
        let short_id = outcome
            .image_id
            .trim_start_matches("sha256:")
            .chars()
            .take(12)
            .collect::<String>();
        ctx.printer.emit(Event::success(format!(
            "{} built: {} ({short_id}), context {} files, {}",
            target.service,
            target.tag,
            outcome.context.files,
            human_bytes(outcome.context.bytes)
        )));
        built.push(json!({
            "service": target.service,
            "tag": target.tag,
            "id": outcome.image_id,
            "steps": outcome.steps,
            "context_files": outcome.context.files,
            "context_bytes": outcome.context.bytes,
        }));
    }
    let text = built
        .iter()
        .map(|b| {
            format!(
                "{}\t{}",
                b["tag"].as_str().unwrap_or(""),
                b["id"].as_str().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    Ok(Report::ok(
        json!({ "environment": scope.env.name, "images": built }),
        text,
    ))
}

fn report_progress(printer: &Printer, service: &str, progress: BuildProgress) {
    match progress {
        BuildProgress::Step {
            number,
            total,
            instruction,
        } => printer.emit(Event::info(format!(
            "{service}: Step {number}/{total} : {instruction}"
        ))),
        BuildProgress::Output(line) => printer.emit(Event::debug(format!("{service}: {line}"))),
        BuildProgress::Done {
            instruction,
            status,
        } => printer.emit(Event::info(format!("{service}: {instruction} {status}"))),
        BuildProgress::Pull {
            id,
            status,
            current,
            total,
        } => match (current, total) {
            (Some(current), Some(total)) if total > 0 => printer.emit(Event::Progress {
                id: format!("pull-{id}"),
                message: format!("{service}: {status} {id}"),
                current: u64::try_from(current).unwrap_or(0),
                total: u64::try_from(total).ok(),
            }),
            _ => printer.emit(Event::debug(format!("{service}: {status} {id}"))),
        },
    }
}

fn human_bytes(bytes: u64) -> String {
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

/// The labels that select an environment's images.
fn env_selector(scope: &Scope) -> Vec<(String, String)> {
    vec![
        (labels::PROJECT.to_owned(), scope.project_name.clone()),
        (labels::ENVIRONMENT.to_owned(), scope.env.name.clone()),
    ]
}

async fn destroy(ctx: &Context, args: ImageSelectArgs) -> anyhow::Result<Report> {
    let scope = scope(ctx, &args.env)?;
    let docker = engine::connect().await?;
    let tags: Vec<String> = targets(ctx, &scope, args.file.as_deref(), args.service.as_deref())?
        .into_iter()
        .map(|t| t.tag)
        .collect();
    let mut present = Vec::new();
    for tag in tags {
        if images::exists(&docker, &tag).await? {
            present.push(tag);
        }
    }
    for tag in &present {
        let running = images::running_containers_of(&docker, tag).await?;
        if !running.is_empty() {
            return Err(CommandError::new(
                ExitStatus::InvalidInput,
                format!(
                    "image {tag} is in use by running container(s) {}. Try: `stevedore stop {}` \
                     to stop them first",
                    running.join(", "),
                    scope.env.name
                ),
            )
            .into());
        }
    }
    for tag in &present {
        ctx.printer
            .emit(Event::step(format!("Removing image {tag}")));
        images::remove(&docker, tag, true).await?;
    }
    if present.is_empty() {
        ctx.printer.emit(Event::info(format!(
            "environment {} has no local images to remove",
            scope.env.name
        )));
    }
    Ok(Report::ok(
        json!({ "environment": scope.env.name, "removed": present }),
        present.join("\n"),
    ))
}

async fn list(ctx: &Context, args: ImageSelectArgs) -> anyhow::Result<Report> {
    let scope = scope(ctx, &args.env)?;
    let docker = engine::connect().await?;
    let mut selector = env_selector(&scope);
    if let Some(service) = &args.service {
        selector.push((labels::SERVICE.to_owned(), service.clone()));
    }
    let found = images::with_labels(&docker, &selector).await?;
    let rows: Vec<serde_json::Value> = found
        .iter()
        .map(|image| {
            let label = |key: &str| image.labels.get(key).cloned().unwrap_or_default();
            json!({
                "service": label(labels::SERVICE),
                "tags": image.repo_tags,
                "id": image.id,
                "size": image.size,
                "created": image.created,
                "commit": label(labels::COMMIT),
                "dirty": label(labels::DIRTY) == "true",
            })
        })
        .collect();
    Ok(Report::ok(
        json!({ "environment": scope.env.name, "images": rows }),
        image_table(&rows),
    ))
}

fn image_table(rows: &[serde_json::Value]) -> String {
    let mut text = format!(
        "{:<12} {:<40} {:<12} {:>10} {:<20} {}\n",
        "SERVICE", "TAG", "ID", "SIZE", "CREATED", "COMMIT"
    );
    for row in rows {
        let tags = row["tags"]
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        let id: String = row["id"]
            .as_str()
            .unwrap_or("")
            .trim_start_matches("sha256:")
            .chars()
            .take(12)
            .collect();
        let commit: String = row["commit"]
            .as_str()
            .unwrap_or("")
            .chars()
            .take(12)
            .collect();
        let dirty = if row["dirty"] == true { "+dirty" } else { "" };
        text.push_str(&format!(
            "{:<12} {:<40} {:<12} {:>10} {:<20} {commit}{dirty}\n",
            row["service"].as_str().unwrap_or(""),
            tags,
            id,
            human_bytes(row["size"].as_u64().unwrap_or(0)),
            format_unix(row["created"].as_i64().unwrap_or(0)),
        ));
    }
    text
}

/// `YYYY-MM-DD HH:MM` (UTC) from a Unix timestamp, without a date crate.
fn format_unix(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let rem = seconds.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_args_parse() {
        let args = parse_build_args(&["A=1".into(), "B=x=y".into(), "C=".into()]).expect("valid");
        assert_eq!(args["A"], "1");
        assert_eq!(args["B"], "x=y");
        assert_eq!(args["C"], "");
        assert!(parse_build_args(&["=1".into()]).is_err());
    }

    #[test]
    fn unix_dates() {
        assert_eq!(format_unix(0), "1970-01-01 00:00");
        assert_eq!(format_unix(1_795_400_000), "2026-11-23 02:13");
        assert_eq!(format_unix(951_825_600), "2000-02-29 12:00");
    }

    #[test]
    fn sizes() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 * 1024 * 1024), "5.0 MiB");
    }
}
