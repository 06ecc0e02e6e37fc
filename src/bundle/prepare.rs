//! Preparing a bundle for `bundle` and `deploy`: resolve the release's image pins, render (or
//! rewrite) the run file and validate it ([`prepare`]), then select the files and zip them
//! ([`write`]). Progress and warnings go out as [`Event`]s.

use std::path::{Path, PathBuf};

use super::{
    self as bundle, BuildRequest, Built, BundleError, BundleFormat, DOCKERRUN, ImagePins, S3Ref,
    compose_raw, handwritten, pins, render,
};
use crate::compose;
use crate::exit::{CommandError, ExitStatus};
use crate::git::Git;
use crate::hint;
use crate::output::Event;
use crate::project::Loaded;
use crate::project::settings::Settings;
use crate::release::{ReleaseRecord, ReleaseScope, ReleaseVersion};

/// What `bundle` and `deploy` ask for.
pub struct BundleOptions<'a> {
    /// The environment.
    pub env: &'a str,
    /// The version.
    pub version: &'a str,
    /// Accept version tags where no digest is recorded (never for deploy).
    pub allow_unpinned: bool,
    /// Bundle even when the run file cannot express all of the compose file.
    pub allow_lossy: bool,
}

/// A bundle ready to be written: everything resolved and rendered, nothing on disk yet.
pub struct Prepared {
    /// The environment's release side (project, repository, services).
    pub scope: ReleaseScope,
    /// The project's and environment's settings.
    pub settings: Settings,
    /// The version.
    pub version: ReleaseVersion,
    /// The release commit, when the version is released.
    pub commit: Option<String>,
    /// Our services' images.
    pub pins: ImagePins,
    /// The run file format (`Handwritten` when the environment has its own file).
    pub format: String,
    /// The run files, rendered.
    pub run: render::RunFiles,
    /// Losses the run file may have (`--allow-lossy`), kept for a render with new pins.
    pub allow_lossy: bool,
}

/// Resolve and render everything a bundle of `options.version` needs.
pub fn prepare(
    loaded: &Loaded,
    options: &BundleOptions<'_>,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<Prepared> {
    let version = ReleaseVersion::parse(options.version)?;
    let scope = ReleaseScope::load(loaded, options.env)?;
    let git = Git::new(&scope.project.root);
    let (pins, commit) = resolve_pins(&scope, &git, &version, options.allow_unpinned, emit)?;
    let (run, format) = render_run(loaded, &scope, &pins, options.allow_lossy)?;
    if format == "handwritten" {
        emit(Event::info(format!(
            "Using the hand-written environments/{}/{DOCKERRUN} (bundle_format is not used)",
            scope.env_name
        )));
    }
    Ok(Prepared {
        scope,
        settings: loaded.resolution.settings.clone(),
        version,
        commit,
        pins,
        format,
        run,
        allow_lossy: options.allow_lossy,
    })
}

/// Images that are not ours (`redis:7`): with `resolve`, pin each by the digest its registry
/// gives and render the run files again; otherwise, or when the registry cannot say, they stay
/// on their tags and a warning (and the summaries, through [`pins::unpinned_images`]) names them.
pub async fn pin_third_party(
    loaded: &Loaded,
    prepared: &mut Prepared,
    resolve: bool,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<()> {
    let images = pins::third_party_images(&prepared.run.files, &prepared.pins);
    if images.is_empty() {
        return Ok(());
    }
    pins::pin_third_party(&mut prepared.pins, &images, resolve).await;
    (prepared.run, prepared.format) = render_run(
        loaded,
        &prepared.scope,
        &prepared.pins,
        prepared.allow_lossy,
    )?;
    for third in prepared.pins.third_party() {
        match &third.unpinned_because {
            Some(why) if !third.pinned && !why.is_empty() => emit(Event::warning(format!(
                "`{}` is not pinned by digest ({why}): instances pull whatever the tag points at \
                 when they start",
                third.image
            ))),
            _ if third.pinned && third.reference != third.image => emit(Event::debug(format!(
                "pinned {} as {}",
                third.image, third.reference
            ))),
            _ => {}
        }
    }
    Ok(())
}

/// The run files for `pins`: the environment's hand-written Dockerrun rewritten, or the compose
/// file rendered in the configured format (refused when it loses what the compose file says,
/// unless `allow_lossy`); with the format's name.
fn render_run(
    loaded: &Loaded,
    scope: &ReleaseScope,
    pins: &ImagePins,
    allow_lossy: bool,
) -> anyhow::Result<(render::RunFiles, String)> {
    let env_settings = loaded
        .resolution
        .settings
        .environment
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("environment settings missing"))?;
    let format = loaded
        .resolution
        .typed
        .bundle_format
        .ok_or_else(|| anyhow::anyhow!("environment settings missing"))?;
    let auth = env_settings
        .registry_auth
        .get()
        .map(|text| S3Ref::parse(&text))
        .transpose()?;
    let web = env_settings.web_service.get();
    let environment = scope.project.environment(&scope.env_name)?;
    let handwritten_path = environment.dir.join(DOCKERRUN);
    if !handwritten_path.is_file() {
        let mut run = render_compose(
            scope,
            &environment,
            format,
            auth.as_ref(),
            pins,
            web.as_deref(),
        )?;
        run.check_lossy(format, allow_lossy)?;
        return Ok((run, format.as_str().to_owned()));
    }
    let text = fs_err::read_to_string(&handwritten_path)?;
    let relative = scope.project.relative(&handwritten_path);
    let (files, kind) = handwritten::rewrite(&text, &relative, pins)?;
    Ok(match kind {
        handwritten::HandwrittenKind::RunFile => (files, "handwritten".into()),
        handwritten::HandwrittenKind::AuthOnly => {
            // v3 carries credentials for a compose bundle: render the compose file beside it.
            let mut rendered = render_compose(
                scope,
                &environment,
                BundleFormat::Compose,
                None,
                pins,
                web.as_deref(),
            )?;
            rendered.check_lossy(BundleFormat::Compose, allow_lossy)?;
            rendered.files.retain(|f| f.name != DOCKERRUN);
            rendered.files.extend(files.files);
            (rendered, "compose".into())
        }
    })
}

fn render_compose(
    scope: &ReleaseScope,
    environment: &crate::project::Environment,
    format: BundleFormat,
    auth: Option<&S3Ref>,
    pins: &ImagePins,
    web: Option<&str>,
) -> anyhow::Result<render::RunFiles> {
    let Some(path) = &environment.compose_file else {
        return Err(BundleError::Invalid(format!(
            "environment `{}` has neither a compose file (docker/<service>/{}/docker-compose.yml) \
             nor environments/{}/{DOCKERRUN} to make the run file from",
            environment.name, environment.name, environment.name
        ))
        .into());
    };
    let dotenv = environment.dir.join(".env");
    let selection = compose::Selection::default();
    let Some(file) = compose::load_selected(&selection, Some(path), Some(&dotenv), false)? else {
        return Err(BundleError::Invalid(format!("cannot load {}", path.display())).into());
    };
    let raw = compose_raw::read_all(&selection.compose_files(Some(path)))?;
    Ok(render::render(
        format,
        &render::RenderInput {
            compose: &file,
            raw: &raw,
            pins,
            root: &scope.project.root,
            auth,
            web,
        },
    )?)
}

/// Each service's image for `version`: the digest `publish` recorded in the release tag, or
/// with `allow_unpinned` the version tag.
fn resolve_pins(
    scope: &ReleaseScope,
    git: &Git,
    version: &ReleaseVersion,
    allow_unpinned: bool,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<(ImagePins, Option<String>)> {
    let tag = version.git_tag();
    let env = &scope.env_name;
    let mut pins = ImagePins::new();
    if !git.tag_exists(&tag) {
        if !allow_unpinned {
            return Err(CommandError::new(
                ExitStatus::InvalidInput,
                format!(
                    "version {version} is not released (no tag {tag}); run `{}` and `{}` first \
                     (or `bundle --allow-unpinned` to inspect a bundle now)",
                    hint::command(&["release", env, &version.to_string()]),
                    hint::command(&["publish", env, &version.to_string()])
                ),
            )
            .into());
        }
        emit(Event::warning(format!(
            "{tag} does not exist yet: the bundle names the version tags, not digests, which \
             deploy refuses (release and publish first)"
        )));
        for service in &scope.services {
            pins.insert(
                service,
                &format!("{}:{}", scope.repository_of(service), version.image_tag()),
            );
        }
        return Ok((pins, None));
    }
    let record = ReleaseRecord::parse(&git.tag_message(&tag)?);
    let commit = git.commit_of(&tag);
    let services: Vec<String> = if record.images.is_empty() {
        scope.services.clone()
    } else {
        record.images.iter().map(|i| i.service.clone()).collect()
    };
    let mut unpinned = Vec::new();
    for service in &services {
        match record.digest_of(service) {
            Some(pinned) => pins.insert(service, pinned),
            None => {
                let reference = record
                    .images
                    .iter()
                    .find(|i| &i.service == service)
                    .map(|i| i.reference.clone())
                    .unwrap_or_else(|| {
                        format!("{}:{}", scope.repository_of(service), version.image_tag())
                    });
                pins.insert(service, &reference);
                unpinned.push(service.clone());
            }
        }
    }
    if !unpinned.is_empty() {
        if !allow_unpinned {
            return Err(CommandError::new(
                ExitStatus::InvalidInput,
                format!(
                    "version {version} is released but not published: no digest recorded for {}; \
                     run `{}` (deploys run images pinned by digest only)",
                    unpinned.join(", "),
                    hint::command(&["publish", env, &version.to_string()])
                ),
            )
            .into());
        }
        emit(Event::warning(format!(
            "no digest recorded for {} (not published yet): the bundle names version tags, \
             which deploy refuses",
            unpinned.join(", ")
        )));
    }
    Ok((pins, commit))
}

/// Write the prepared bundle to `out`, with progress and the notes as warnings.
pub fn write(
    prepared: &Prepared,
    out: &Path,
    allowed_secrets: &[PathBuf],
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<Built> {
    for note in &prepared.run.notes {
        emit(Event::warning(note.clone()));
    }
    let environment = prepared
        .scope
        .project
        .environment(&prepared.scope.env_name)?;
    emit(Event::step(format!(
        "Bundling {} {} ({})",
        prepared.scope.env_name, prepared.version, prepared.format
    )));
    let built = bundle::build(
        &BuildRequest {
            root: &prepared.scope.project.root,
            env_dir: &environment.dir,
            run_files: &prepared.run.files,
            mounts: &prepared.run.mounts,
            allowed_secrets,
            max_bytes: bundle::MAX_BUNDLE_BYTES,
        },
        out,
        &mut |done, total| {
            emit(Event::Progress {
                id: "bundle".into(),
                message: "Zipping".into(),
                current: done,
                total: Some(total),
            });
        },
    )?;
    emit(Event::ProgressDone {
        id: "bundle".into(),
        message: format!(
            "Bundle written: {} member(s), {} bytes, sha256 {}",
            built.members.len(),
            built.size,
            built.sha256
        ),
    });
    for warning in &built.warnings {
        emit(Event::warning(warning.clone()));
    }
    if let Some(commit) = &prepared.commit {
        warn_if_not_the_release(prepared, commit, &built.members, emit);
    }
    Ok(built)
}

/// The bundle takes project files from the working tree, as the EB CLI does (built assets are
/// often untracked); say so when they are not the release commit's.
fn warn_if_not_the_release(
    prepared: &Prepared,
    commit: &str,
    members: &[String],
    emit: &(dyn Fn(Event) + Sync),
) {
    let git = Git::new(&prepared.scope.project.root);
    let mut changed: Vec<String> = Vec::new();
    for args in [
        &["diff", "--name-only", commit][..],
        &["ls-files", "--others", "--exclude-standard"],
    ] {
        if let Ok(out) = git.run(args) {
            changed.extend(out.lines().map(str::to_owned));
        }
    }
    let differing: Vec<&String> = members
        .iter()
        .filter(|m| !m.starts_with(".ebextensions/") && changed.contains(m))
        .collect();
    if differing.is_empty() {
        return;
    }
    let mut listed: Vec<String> = differing.iter().take(5).map(|m| m.to_string()).collect();
    if differing.len() > 5 {
        listed.push(format!("and {} more", differing.len() - 5));
    }
    emit(Event::warning(format!(
        "{} bundled file(s) differ from {}'s commit ({}): the bundle ships the working tree's; \
         check out {} to ship the release's",
        differing.len(),
        prepared.version.git_tag(),
        listed.join(", "),
        prepared.version.git_tag()
    )));
}
