//! `stevedore image build|update|destroy|ls <env>`.

use std::collections::HashMap;

use serde_json::json;

use super::Context;
use crate::cli::{ImageAction, ImageBuildArgs, ImageSelectArgs};
use crate::engine::{self, images, labels};
use crate::exit::{CommandError, ExitStatus};
use crate::hint;
use crate::image::{self, BuildOptions, BuildScope, plan};
use crate::output::{Event, Report};

/// Run an `image` action.
pub async fn run(ctx: &Context, action: ImageAction) -> anyhow::Result<Report> {
    match action {
        // `start` builds through `build_images` under its own lock; the lock is taken here.
        ImageAction::Build(args) => {
            let _lock = lock_images(ctx, &args.select.env, "image build").await?;
            build_images(ctx, args, false).await
        }
        ImageAction::Update(args) => {
            let _lock = lock_images(ctx, &args.select.env, "image update").await?;
            build_images(ctx, args, true).await
        }
        ImageAction::Destroy(args) => destroy(ctx, args).await,
        ImageAction::Ls(args) => list(ctx, args).await,
    }
}

/// Resolve the environment and its settings.
pub(super) fn scope(ctx: &Context, env: &str) -> anyhow::Result<BuildScope> {
    let loaded = ctx.settings(Some(env))?;
    let project = loaded.project.clone();
    let environment = project.environment(env)?;
    let project_name = loaded
        .resolution
        .settings
        .project_name
        .value
        .clone()
        .unwrap_or_else(|| project.default_name());
    Ok(BuildScope {
        project,
        env: environment,
        project_name,
    })
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

/// Build an environment's images (`update`: from scratch).
async fn build_images(ctx: &Context, args: ImageBuildArgs, update: bool) -> anyhow::Result<Report> {
    let scope = scope(ctx, &args.select.env)?;
    let options = BuildOptions {
        compose_override: args.select.file.as_deref().map(|f| ctx.start_dir.join(f)),
        only: args.select.service.clone(),
        build_args: parse_build_args(&args.build_args)?,
        no_cache: args.no_cache || update,
        pull: args.pull,
        allow_secrets: args.allow_secrets.clone(),
        rebuild: update,
        builder: args.builder,
        secrets: crate::engine::buildkit::secrets::load(&args.secrets)?,
        target: args.target.clone(),
        settings: image::build_settings_from_flags(image::BuildFlags {
            platform: args.platform.clone(),
            cache_from: args.cache_from.clone(),
            network: args.network.clone(),
            add_hosts: args.add_hosts.clone(),
            shm_size: args.shm_size.clone(),
            ssh: args.ssh.clone(),
        })?,
        ..BuildOptions::default()
    };
    let emit = |event| ctx.printer.emit(event);
    let prepared = image::prepare(&scope, &options, &emit)?;
    let docker = engine::connect().await?;
    let built: Vec<serde_json::Value> =
        image::build_prepared(&docker, &scope, prepared, &options, &emit)
            .await?
            .iter()
            .map(|b| json!(b))
            .collect();
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

/// The labels that select an environment's images.
fn env_selector(scope: &BuildScope) -> Vec<(String, String)> {
    vec![
        (labels::PROJECT.to_owned(), scope.project_name.clone()),
        (labels::ENVIRONMENT.to_owned(), scope.env.name.clone()),
    ]
}

async fn destroy(ctx: &Context, args: ImageSelectArgs) -> anyhow::Result<Report> {
    let scope = scope(ctx, &args.env)?;
    let _lock = super::lock_env(ctx, &scope.project.root, &scope.env.name, "image destroy").await?;
    let docker = engine::connect().await?;
    let emit = |event| ctx.printer.emit(event);
    let compose_override = args.file.as_deref().map(|f| ctx.start_dir.join(f));
    let tags: Vec<String> = plan::targets(
        &scope,
        &emit,
        compose_override.as_deref(),
        args.service.as_deref(),
    )?
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
                    "image {tag} is in use by running container(s) {}. Try: `{}` to stop them \
                     first",
                    running.join(", "),
                    hint::command(&["stop", &scope.env.name])
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
            image::human_bytes(row["size"].as_u64().unwrap_or(0)),
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

/// The environment lock for an image command (the environment must exist first).
async fn lock_images(
    ctx: &Context,
    env: &str,
    command: &str,
) -> anyhow::Result<crate::lifecycle::lock::EnvLock> {
    let project = ctx.project()?;
    project.environment(env)?;
    super::lock_env(ctx, &project.root, env, command).await
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
}
