//! `stevedore image build|update|destroy|ls <env>`.

use std::collections::HashMap;

use serde_json::json;

use super::Context;
use crate::cli::{ImageAction, ImageBuildArgs, ImageSelectArgs};
use crate::engine;
use crate::exit::{CommandError, ExitStatus};
use crate::image::{self, BuildOptions, BuildScope, listing};
use crate::output::Report;

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
fn scope(ctx: &Context, env: &str) -> anyhow::Result<BuildScope> {
    BuildScope::load(&*ctx.settings(Some(env))?, env)
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
    let timeout = super::timeout_flag(&args.timeout)?;
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
        timeout: Some(timeout),
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

async fn destroy(ctx: &Context, args: ImageSelectArgs) -> anyhow::Result<Report> {
    let scope = scope(ctx, &args.env)?;
    let _lock = ctx
        .lock_env(&scope.project.root, &scope.env.name, "image destroy")
        .await?;
    let docker = engine::connect().await?;
    let emit = |event| ctx.printer.emit(event);
    let compose_override = args.file.as_deref().map(|f| ctx.start_dir.join(f));
    let present = image::destroy::destroy(
        &docker,
        &scope,
        compose_override.as_deref(),
        args.service.as_deref(),
        &emit,
    )
    .await?;
    Ok(Report::ok(
        json!({ "environment": scope.env.name, "removed": present }),
        present.join("\n"),
    ))
}

async fn list(ctx: &Context, args: ImageSelectArgs) -> anyhow::Result<Report> {
    let scope = scope(ctx, &args.env)?;
    let docker = engine::connect().await?;
    let rows = listing::list(&docker, &scope, args.service.as_deref()).await?;
    Ok(Report::ok(
        json!({ "environment": scope.env.name, "images": rows }),
        listing::image_table(&rows),
    ))
}

/// The environment lock for an image command (the environment must exist first).
async fn lock_images(
    ctx: &Context,
    env: &str,
    command: &str,
) -> anyhow::Result<crate::lifecycle::lock::EnvLock> {
    let project = ctx.project()?;
    project.environment(env)?;
    ctx.lock_env(&project.root, env, command).await
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
}
