//! Cutting a release ([`cut`]): tie one commit to the environment's images. The images are
//! built from HEAD for the version, the git tag is created first (atomically: of two runs of
//! one version, the loser stops before touching anything), then the image tags and the
//! release branch; a failure undoes only what this run did.

use std::collections::HashMap;

use super::{ImageRecord, ReleaseRecord, ReleaseScope, ReleaseVersion, ServiceImage};
use crate::engine::{images, labels};
use crate::exit::{CommandError, ExitStatus};
use crate::git::Git;
use crate::image::{self, BuildOptions, BuildScope, VERSION_BUILD_ARG};
use crate::interrupt::{self, Critical};
use crate::output::Event;

/// Something done that can be taken back.
enum Done {
    ImageTag {
        reference: String,
        previous: Option<String>,
        /// The image this run pointed it at: undo touches the tag only if it still does.
        ours: String,
    },
    GitTag(String),
    Branch(String),
}

/// How a release ended.
pub enum Cut {
    /// Tagged now.
    Released {
        /// What the tag records.
        record: ReleaseRecord,
        /// The release commit.
        head: String,
        /// The release branch, when this release opened one.
        branch: Option<String>,
    },
    /// Released before at this commit with these images: nothing changed.
    Unchanged {
        /// The release commit.
        head: String,
    },
}

/// Release `version` of `scope`'s environment from HEAD. Preconditions are checked before
/// anything changes; the steps then run inside a critical section with an undo log, so a
/// failure or Ctrl-C leaves no tag, branch or image tag behind.
pub async fn cut(
    docker: &bollard::Docker,
    scope: &ReleaseScope,
    version: &ReleaseVersion,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<Cut> {
    let git = Git::new(&scope.project.root);
    let head = clean_head(&git)?;
    let tag = version.git_tag();
    if git.tag_exists(&tag) {
        let run = Run {
            git: &git,
            docker,
            scope,
            images: &[],
            version,
            head: &head,
        };
        already_released(&run, emit).await?;
        return Ok(Cut::Unchanged { head });
    }
    let branch = version.release_branch();
    check_branch(&git, version, &branch)?;
    build_versioned(docker, scope, version, &head, emit).await?;
    let images = scope.local_images(docker).await?;
    for image in &images {
        check_built_from(image, &head, &scope.env_name)?;
    }
    let run = Run {
        git: &git,
        docker,
        scope,
        images: &images,
        version,
        head: &head,
    };
    let _critical = Critical::enter();
    let mut done = Vec::new();
    match release_steps(&run, &mut done, emit).await {
        Ok(record) => Ok(Cut::Released {
            record,
            head: head.clone(),
            branch: (!version.is_patch()).then_some(branch),
        }),
        Err(err) => {
            let undone = undo(&git, docker, done).await;
            Err(err.context(format!("release {tag} failed; undone: {undone}")))
        }
    }
}

/// Build the environment's images from HEAD for `version`: the build argument `APP_VERSION`
/// and the OCI labels `org.opencontainers.image.version`/`revision`, so the released image
/// knows and says which release it is. Unchanged layers come from the cache.
async fn build_versioned(
    docker: &bollard::Docker,
    scope: &ReleaseScope,
    version: &ReleaseVersion,
    head: &str,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<()> {
    let build_scope = BuildScope {
        env: scope.project.environment(&scope.env_name)?,
        project: scope.project.clone(),
        project_name: scope.project_name.clone(),
        aws_profile: scope.aws_profile.clone(),
    };
    let options = BuildOptions {
        build_args: HashMap::from([(VERSION_BUILD_ARG.to_owned(), version.to_string())]),
        labels: HashMap::from([
            (labels::OCI_VERSION.to_owned(), version.to_string()),
            (labels::OCI_REVISION.to_owned(), head.to_owned()),
        ]),
        ..BuildOptions::default()
    };
    emit(Event::step(format!(
        "Building the images of {} for {version} from {}",
        scope.env_name,
        short(head)
    )));
    image::build_all(docker, &build_scope, &options, emit).await?;
    Ok(())
}

/// HEAD's commit, refusing a dirty tree.
fn clean_head(git: &Git) -> anyhow::Result<String> {
    let state = git.state()?;
    if !state.dirty.is_empty() {
        let mut listed: Vec<String> = state.dirty.iter().take(20).cloned().collect();
        if state.dirty.len() > 20 {
            listed.push(format!("… and {} more", state.dirty.len() - 20));
        }
        return Err(CommandError::new(
            ExitStatus::InvalidInput,
            format!(
                "the working tree has uncommitted changes: {}. Commit or stash them: a release \
                 must be exactly a commit",
                listed.join(", ")
            ),
        )
        .into());
    }
    state.head.ok_or_else(|| {
        CommandError::new(
            ExitStatus::InvalidInput,
            "the repository has no commits yet",
        )
        .into()
    })
}

/// The image must come from HEAD's commit and a clean tree.
fn check_built_from(image: &ServiceImage, head: &str, env: &str) -> anyhow::Result<()> {
    let fix = format!("run `stevedore image build {env}`");
    if image.commit != head {
        return Err(CommandError::new(
            ExitStatus::InvalidInput,
            format!(
                "image {} was built from {}, HEAD is {}; {fix}",
                image.local_tag,
                short(&image.commit),
                short(head)
            ),
        )
        .into());
    }
    if image.dirty {
        return Err(CommandError::new(
            ExitStatus::InvalidInput,
            format!(
                "image {} was built from a working tree with uncommitted changes; {fix}",
                image.local_tag
            ),
        )
        .into());
    }
    Ok(())
}

/// A minor/major release opens `release-vM.m`; a patch must be cut on it.
fn check_branch(git: &Git, version: &ReleaseVersion, branch: &str) -> anyhow::Result<()> {
    if !version.is_patch() {
        return Ok(());
    }
    let current = git.state()?.branch.unwrap_or_default();
    if !git.branch_exists(branch) {
        return Err(CommandError::new(
            ExitStatus::InvalidInput,
            format!(
                "release branch `{branch}` not found: a patch release needs the original \
                 release ({}.0) first",
                version.major_minor()
            ),
        )
        .into());
    }
    if current != branch {
        return Err(CommandError::new(
            ExitStatus::InvalidInput,
            format!(
                "patch release {version} must be cut on `{branch}` (HEAD is on `{}`); run `git \
                 switch {branch}`, commit the fix there, build, then release",
                if current.is_empty() {
                    "a detached HEAD"
                } else {
                    &current
                }
            ),
        )
        .into());
    }
    Ok(())
}

/// What the steps of one release work on.
struct Run<'a> {
    git: &'a Git,
    docker: &'a bollard::Docker,
    scope: &'a ReleaseScope,
    images: &'a [ServiceImage],
    version: &'a ReleaseVersion,
    head: &'a str,
}

/// The tag exists: a re-run at the same commit with the same images is a no-op success.
async fn already_released(run: &Run<'_>, emit: &(dyn Fn(Event) + Sync)) -> anyhow::Result<()> {
    let Run {
        git,
        docker,
        scope,
        images: _,
        version,
        head,
    } = *run;
    let tag = version.git_tag();
    let tagged = git.commit_of(&tag).unwrap_or_default();
    let mut same = tagged == head;
    let mut missing = false;
    for service in &scope.services {
        let reference = format!("{}:{}", scope.repository_of(service), version.image_tag());
        let found = images::labels_of(docker, &reference).await?;
        missing |= found.is_none();
        let built_from = found.and_then(|(_, labels)| labels.get(labels::COMMIT).cloned());
        same &= built_from.as_deref() == Some(head);
    }
    if !same && tagged == head && missing {
        // Tagged at this commit, image tags not all there yet: another run is releasing it now
        // (the git tag comes first). Touch nothing.
        return Err(CommandError::new(
            ExitStatus::Busy,
            format!(
                "{tag} is being released by another run at the same time; this run changed \
                 nothing"
            ),
        )
        .into());
    }
    if !same {
        return Err(CommandError::new(
            ExitStatus::InvalidInput,
            format!(
                "tag {tag} already exists at {} with other images; a version is released once. \
                 Release a new version instead",
                short(&tagged)
            ),
        )
        .into());
    }
    emit(Event::info(format!(
        "{tag} is already released at {} with these images; nothing to do",
        short(head)
    )));
    Ok(())
}

async fn release_steps(
    run: &Run<'_>,
    done: &mut Vec<Done>,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<ReleaseRecord> {
    let Run {
        git,
        docker,
        scope,
        images,
        version,
        head,
    } = *run;
    // The record names what will be tagged; nothing is changed before the git tag exists.
    let records: Vec<ImageRecord> = images
        .iter()
        .map(|image| ImageRecord {
            service: image.service.clone(),
            reference: format!("{}:{}", image.repository, version.image_tag()),
            image_id: image.id.clone(),
        })
        .collect();
    interrupt::check()?;
    let since = git.previous_tag();
    let record = ReleaseRecord {
        title: format!("Release {}", version.git_tag()),
        changelog: git.changelog(since.as_deref())?,
        images: records,
        digests: Vec::new(),
    };
    let tag = version.git_tag();
    emit(Event::step(format!(
        "Tagging commit {} as {tag} ({} change(s) since {})",
        short(head),
        record.changelog.len(),
        since.as_deref().unwrap_or("the first commit")
    )));
    // The git tag first: `git tag` fails if it exists (an exclusive ref lock), so of two
    // releases of one version racing, the loser stops here, before touching any image tag.
    if let Err(err) = git.create_tag(&tag, head, &record.to_message()) {
        if git.tag_exists(&tag) {
            return Err(CommandError::new(
                ExitStatus::Busy,
                format!(
                    "tag {tag} was created by another release of {version} running at the same \
                     time; this run changed nothing"
                ),
            )
            .into());
        }
        return Err(err.into());
    }
    done.push(Done::GitTag(tag));
    for image in images {
        for tag in [version.image_tag(), scope.env_tag.clone()] {
            interrupt::check()?;
            let reference = format!("{}:{tag}", image.repository);
            emit(Event::step(format!(
                "Tagging image {reference} ({})",
                image.local_tag
            )));
            let previous = images::image_id(docker, &reference).await?;
            images::tag(docker, &image.id, &image.repository, &tag).await?;
            done.push(Done::ImageTag {
                reference: reference.clone(),
                previous,
                ours: image.id.clone(),
            });
        }
    }
    interrupt::check()?;
    let branch = version.release_branch();
    if !version.is_patch() && !git.branch_exists(&branch) {
        emit(Event::step(format!("Creating release branch {branch}")));
        git.create_branch(&branch, head)?;
        done.push(Done::Branch(branch));
    }
    interrupt::check()?;
    Ok(record)
}

/// Take back `done`, newest first; say what was undone (and what could not be).
async fn undo(git: &Git, docker: &bollard::Docker, done: Vec<Done>) -> String {
    let mut said = Vec::new();
    for step in done.into_iter().rev() {
        let (what, result) = match step {
            Done::Branch(branch) => (
                format!("branch {branch}"),
                git.delete_branch(&branch).map_err(|e| e.to_string()),
            ),
            Done::GitTag(tag) => (
                format!("tag {tag}"),
                git.delete_tag(&tag).map_err(|e| e.to_string()),
            ),
            Done::ImageTag {
                reference,
                previous,
                ours,
            } => {
                // Someone else moved the tag since: it is theirs now, leave it.
                let still_ours = images::image_id(docker, &reference)
                    .await
                    .is_ok_and(|id| id.as_deref() == Some(ours.as_str()));
                let result = match previous {
                    _ if !still_ours => Ok(()),
                    Some(id) => images::retag(docker, &id, &reference).await,
                    None => images::remove(docker, &reference, false).await,
                };
                (
                    format!("image tag {reference}"),
                    result.map_err(|e| e.to_string()),
                )
            }
        };
        said.push(match result {
            Ok(()) => what,
            Err(err) => format!("{what} (NOT undone: {err})"),
        });
    }
    if said.is_empty() {
        "nothing had been changed".to_owned()
    } else {
        said.join(", ")
    }
}

/// The first 12 hex digits of a commit.
pub fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}
