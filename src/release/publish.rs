//! Publishing a release ([`publish`]): push the released images, prove the registry holds
//! them, record their digests in the release tag, and push the release branch and that tag
//! only. Nothing is recorded unless everything worked: the digests go into the tag only after
//! the registry confirmed each manifest, and the tag is restored if pushing the git refs fails.

use serde_json::{Value, json};

use super::{DigestRecord, ImageRecord, ReleaseRecord, ReleaseScope, ReleaseVersion};
use crate::engine::images::{self, split_reference};
use crate::engine::push::{self, PushMeter, PushProgress};
use crate::exit::{CommandError, ExitStatus};
use crate::git::Git;
use crate::hint;
use crate::interrupt::{self, Critical};
use crate::output::Event;
use crate::registry::client::{Manifest, RegistryClient};
use crate::registry::credentials::{self, Resolved};
use crate::registry::ecr;

/// Where a release goes besides the registry.
pub struct PublishTarget {
    /// The git remote the branch and tag are pushed to.
    pub remote: String,
    /// The AWS profile for ECR logins.
    pub aws_profile: Option<String>,
}

/// What was published.
pub struct Published {
    /// The release commit.
    pub commit: String,
    /// The release branch.
    pub branch: String,
    /// Each service's image, pinned by digest.
    pub digests: Vec<DigestRecord>,
    /// What each push did.
    pub pushed: Vec<Value>,
}

/// Publish released `version` of `scope`'s environment: push both image tags, verify each
/// manifest with the registry, record the digests in the tag and push the branch and tag to
/// `target.remote`. Nothing is recorded unless everything worked.
pub async fn publish(
    docker: &bollard::Docker,
    scope: &ReleaseScope,
    version: &ReleaseVersion,
    target: &PublishTarget,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<Published> {
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
    let remote = &target.remote;
    let client = RegistryClient::new()?;
    let profile = target.aws_profile.clone();
    let mut digests = Vec::new();
    let mut pushed = Vec::new();
    for image in &record.images {
        check_local(docker, image).await?;
        let (repository, version_tag) = split_reference(&image.reference);
        let registry = credentials::registry_of(repository);
        let auth = registry_auth(&registry, profile.as_deref()).await?;
        for push_tag in [version_tag, scope.env_tag.as_str()] {
            interrupt::check()?;
            let summary =
                push_one(docker, &registry, repository, push_tag, &auth, image, emit).await?;
            pushed
                .push(json!({"reference": format!("{repository}:{push_tag}"), "layers": summary}));
        }
        let digest = push::pushed_digest(docker, repository, &image.reference)
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
        emit(Event::success(format!(
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
    record_and_push_refs(&git, remote, &tag, &commit, &branch, &published, emit)?;
    Ok(Published {
        commit,
        branch,
        digests,
        pushed,
    })
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
    docker: &bollard::Docker,
    registry: &str,
    repository: &str,
    tag: &str,
    auth: &Resolved,
    image: &ImageRecord,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<push::PushSummary> {
    let reference = format!("{repository}:{tag}");
    if tag != split_reference(&image.reference).1 {
        images::tag(docker, &image.image_id, repository, tag).await?;
    }
    emit(Event::step(format!("Pushing {reference}")));
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
                    emit(Event::debug(format!(
                        "{reference}: a layer is already in the registry"
                    )));
                    meter.present()
                }
                PushProgress::LayerPushed => meter.pushed(),
            };
            emit(Event::Progress {
                id: id.clone(),
                message: message.clone(),
                current,
                total: Some(total),
            });
        },
    )
    .await?;
    let (current, total) = meter.complete();
    emit(Event::Progress {
        id: format!("push-{reference}"),
        message: format!("pushing {reference}"),
        current,
        total: Some(total),
    });
    emit(Event::ProgressDone {
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
    git: &Git,
    remote: &str,
    tag: &str,
    commit: &str,
    branch: &str,
    record: &ReleaseRecord,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<()> {
    let _critical = Critical::enter();
    interrupt::check()?;
    let previous = git.tag_object(tag);
    let message = record.to_message();
    let rewritten = ReleaseRecord::parse(&git.tag_message(tag)?) != *record;
    if rewritten {
        git.rewrite_tag(tag, commit, &message)?;
    }
    emit(Event::step(format!(
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
