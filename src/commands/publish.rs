//! `stevedore publish <env> <version>`: push the released images, prove the registry holds them,
//! record their digests in the release tag, and push the release branch and that tag only.
//!
//! Nothing is recorded unless everything worked: the digests go into the tag only after the
//! registry confirmed each manifest, and the tag is restored if pushing the git refs fails.

use serde_json::json;

use super::Context;
use super::release_scope::ReleaseScope;
use crate::cli::PublishArgs;
use crate::engine::images::split_reference;
use crate::engine::push::{self, PushMeter, PushProgress};
use crate::engine::{self, images};
use crate::exit::{CommandError, ExitStatus};
use crate::git::Git;
use crate::hint;
use crate::interrupt::{self, Critical};
use crate::output::{Event, Printer, Report};
use crate::registry::client::{Manifest, RegistryClient};
use crate::registry::credentials::{self, Resolved};
use crate::registry::ecr;
use crate::release::{DigestRecord, ImageRecord, ReleaseRecord, ReleaseVersion};

/// Run `publish`.
pub async fn run(ctx: &Context, publish: PublishArgs) -> anyhow::Result<Report> {
    let args = publish.version;
    let version = ReleaseVersion::parse(&args.version)?;
    let scope = ReleaseScope::load(ctx, &args.env)?;
    let git = Git::new(&scope.project.root);
    let tag = version.git_tag();
    let commit = git.commit_of(&tag).ok_or_else(|| {
        CommandError::new(
            ExitStatus::InvalidInput,
            format!(
                "{tag} is not released yet: run `{}` first",
                hint::command(&["release", &scope.env_name, &version.to_string()])
            ),
        )
    })?;
    let record = ReleaseRecord::parse(&git.tag_message(&tag)?);
    if record.images.is_empty() {
        return Err(CommandError::new(
            ExitStatus::InvalidInput,
            format!("tag {tag} was not made by `stevedore release` (its message lists no images)"),
        )
        .into());
    }
    let branch = version.release_branch();
    if !git.branch_exists(&branch) {
        return Err(CommandError::new(
            ExitStatus::InvalidInput,
            format!("release branch {branch} does not exist locally; it is created by `stevedore release`"),
        )
        .into());
    }
    let remote = remote_of(ctx, &scope)?;
    let docker = engine::connect().await?;
    let client = RegistryClient::new()?;
    let profile = aws_profile(ctx, &scope);
    let mut digests = Vec::new();
    let mut pushed = Vec::new();
    for image in &record.images {
        check_local(&docker, image).await?;
        let (repository, version_tag) = split_reference(&image.reference);
        let registry = credentials::registry_of(repository);
        let auth = registry_auth(&registry, profile.as_deref()).await?;
        if credentials::is_ecr(&registry) {
            let name = ecr::repository_name(&registry, repository);
            let state = ecr::ensure_repository(
                &registry,
                name,
                profile.as_deref(),
                publish.create_repository,
            )
            .await?;
            if state == ecr::RepositoryState::Created {
                ctx.printer
                    .emit(Event::success(format!("Created ECR repository {name}")));
            }
        }
        for push_tag in [version_tag, scope.env_tag.as_str()] {
            interrupt::check()?;
            let summary =
                push_one(ctx, &docker, &registry, repository, push_tag, &auth, image).await?;
            pushed
                .push(json!({"reference": format!("{repository}:{push_tag}"), "layers": summary}));
        }
        let digest = push::pushed_digest(&docker, repository, &image.reference)
            .await
            .ok_or_else(|| {
                CommandError::new(
                    ExitStatus::Registry,
                    format!(
                        "the Engine reported no registry digest for {}",
                        image.reference
                    ),
                )
            })?;
        verify(&client, &registry, repository, &digest, &auth).await?;
        ctx.printer.emit(Event::success(format!(
            "{} is {repository}@{digest} (verified with the registry)",
            image.reference
        )));
        digests.push(DigestRecord {
            service: image.service.clone(),
            pinned: format!("{repository}@{digest}"),
        });
    }
    let published = ReleaseRecord {
        digests: digests.clone(),
        ..record
    };
    record_and_push_refs(ctx, &git, &remote, &tag, &commit, &branch, &published)?;
    let text = digests
        .iter()
        .map(|d| format!("{} {}", d.service, d.pinned))
        .collect::<Vec<_>>()
        .join("\n");
    Ok(Report::ok(
        json!({
            "environment": scope.env_name,
            "version": version.to_string(),
            "tag": tag,
            "commit": commit,
            "remote": remote,
            "branch": branch,
            "digests": digests,
            "pushed": pushed,
        }),
        text,
    ))
}

fn remote_of(ctx: &Context, scope: &ReleaseScope) -> anyhow::Result<String> {
    Ok(ctx
        .settings(Some(&scope.env_name))?
        .resolution
        .typed
        .git_remote
        .clone())
}

fn aws_profile(ctx: &Context, scope: &ReleaseScope) -> Option<String> {
    ctx.settings(Some(&scope.env_name))
        .ok()
        .and_then(|loaded| loaded.resolution.settings.profile.value.clone())
}

/// The local `repo:version` must still be the image `release` tagged.
async fn check_local(docker: &bollard::Docker, image: &ImageRecord) -> anyhow::Result<()> {
    let id = images::image_id(docker, &image.reference).await?;
    if id.as_deref() != Some(image.image_id.as_str()) {
        return Err(CommandError::new(
            ExitStatus::InvalidInput,
            format!(
                "local image {} is {} but the release recorded {}; re-tag it or release a new \
                 version",
                image.reference,
                id.as_deref().unwrap_or("missing"),
                image.image_id
            ),
        )
        .into());
    }
    Ok(())
}

/// Credentials as the Docker CLI would find them; ECR registries get a fresh token.
async fn registry_auth(registry: &str, profile: Option<&str>) -> anyhow::Result<Resolved> {
    if credentials::is_ecr(registry) {
        return Ok(ecr::login(registry, profile).await?);
    }
    let host = registry.to_owned();
    let resolved = tokio::task::spawn_blocking(move || credentials::resolve(&host))
        .await
        .map_err(|e| anyhow::anyhow!("credential lookup stopped: {e}"))?;
    resolved.map_err(|reason| {
        CommandError::new(
            ExitStatus::Registry,
            format!("reading the Docker credentials for {registry} failed: {reason}; run `docker login {registry}`"),
        )
        .into()
    })
}

async fn push_one(
    ctx: &Context,
    docker: &bollard::Docker,
    registry: &str,
    repository: &str,
    tag: &str,
    auth: &Resolved,
    image: &ImageRecord,
) -> anyhow::Result<push::PushSummary> {
    let reference = format!("{repository}:{tag}");
    if tag != split_reference(&image.reference).1 {
        images::tag(docker, &image.image_id, repository, tag).await?;
    }
    ctx.printer
        .emit(Event::step(format!("Pushing {reference}")));
    let printer: Printer = ctx.printer.clone();
    let id = format!("push-{reference}");
    let message = format!("pushing {reference}");
    let mut meter = PushMeter::new(images::layer_sizes(docker, &image.image_id).await?);
    let summary = push::push(
        docker,
        registry,
        repository,
        tag,
        auth.to_docker(registry),
        |p| {
            let (current, total) = match p {
                PushProgress::Layer { size, sent } => meter.update(size, sent),
                PushProgress::LayerPresent => {
                    printer.emit(Event::debug(format!(
                        "{reference}: a layer is already in the registry"
                    )));
                    meter.present()
                }
                PushProgress::LayerPushed => meter.pushed(),
            };
            printer.emit(Event::Progress {
                id: id.clone(),
                message: message.clone(),
                current,
                total: Some(total),
            });
        },
    )
    .await?;
    let (current, total) = meter.complete();
    ctx.printer.emit(Event::Progress {
        id: format!("push-{reference}"),
        message: format!("pushing {reference}"),
        current,
        total: Some(total),
    });
    ctx.printer.emit(Event::ProgressDone {
        id: format!("push-{reference}"),
        message: format!(
            "{reference}: {} layer(s) pushed, {} already present",
            summary.pushed, summary.present
        ),
    });
    Ok(summary)
}

/// Ask the registry itself for the manifest: the Engine's word is not proof.
async fn verify(
    client: &RegistryClient,
    registry: &str,
    repository: &str,
    digest: &str,
    auth: &Resolved,
) -> anyhow::Result<()> {
    let name = repository
        .strip_prefix(&format!("{registry}/"))
        .unwrap_or(repository);
    match client
        .manifest(registry, name, digest, auth.to_basic().as_ref())
        .await?
    {
        Manifest::Found { .. } => Ok(()),
        Manifest::NotFound => Err(CommandError::new(
            ExitStatus::Registry,
            format!("registry {registry} does not have {repository}@{digest} right after the push"),
        )
        .into()),
    }
}

/// Write the digests into the tag, push the branch and that tag only; restore the tag if the
/// push fails, so nothing counts as published.
fn record_and_push_refs(
    ctx: &Context,
    git: &Git,
    remote: &str,
    tag: &str,
    commit: &str,
    branch: &str,
    record: &ReleaseRecord,
) -> anyhow::Result<()> {
    let _critical = Critical::enter();
    interrupt::check()?;
    let previous = git.tag_object(tag);
    let message = record.to_message();
    let rewritten = ReleaseRecord::parse(&git.tag_message(tag)?) != *record;
    if rewritten {
        git.rewrite_tag(tag, commit, &message)?;
    }
    ctx.printer.emit(Event::step(format!(
        "Pushing {branch} and {tag} to {remote}"
    )));
    let refspecs = vec![
        format!("refs/heads/{branch}:refs/heads/{branch}"),
        format!("refs/tags/{tag}:refs/tags/{tag}"),
    ];
    let restore = || {
        if rewritten && let Some(object) = &previous {
            let _ = git.restore_tag(tag, object);
        }
    };
    if let Err(interrupted) = interrupt::check() {
        restore();
        return Err(interrupted.into());
    }
    if let Err(err) = git.push(remote, &refspecs) {
        restore();
        return Err(CommandError::new(
            ExitStatus::Registry,
            format!(
                "pushing {branch} and {tag} to {remote} failed, so the digests were not recorded: \
                 {err}. Fix access to the remote and run publish again"
            ),
        )
        .into());
    }
    Ok(())
}
