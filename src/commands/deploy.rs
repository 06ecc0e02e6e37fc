//! `stevedore deploy <env> <version>` (ARCHITECTURE §5): the environment must exist and be
//! Ready (waited for, bounded), the bundle pins the release's digests, it goes to S3 once
//! (`<app>/<label>-<sha12>.zip`), the version is created once (a label that exists with the same
//! bundle is reused, with another one refused), then `UpdateEnvironment` is followed until the
//! environment is Ready on the version with acceptable health (0), failed (7, with the failure
//! events and the tail logs; 9 when `--rollback-on-failure` restored the previous version), or
//! the time is up (8). `--abort` stops an update in progress.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::json;

use super::Context;
use super::bundle::{self as bundle_cmd, BundleOptions, Prepared};
use super::eb_follow::{self, Ending, now_ms};
use super::eb_scope::{self, EbScope};
use crate::aws::description::{self, VersionDescription};
use crate::aws::environment::{self, EnvState, Update};
use crate::aws::upload::{self, Object};
use crate::aws::versions::{self, NewVersion};
use crate::bundle::validate;
use crate::cli::DeployArgs;
use crate::exit::{CommandError, ExitStatus};
use crate::git::Git;
use crate::output::{Event, Report};
use crate::project::dotenv;

/// The property that lists the keys `--sync-env` manages, so keys removed from `.env` are
/// removed from the environment and properties set elsewhere are left alone.
const SYNCED_KEYS: &str = "STEVEDORE_SYNCED_KEYS";
/// dockdj's tooling keys in `.env`: settings for the tools, never for the containers.
const TOOLING_KEYS: &[&str] = &["ENV_AWS_EB_ENVIRONMENT_NAME", "ENV_DOCKER_HUB_REPO_PATH"];

/// Run `deploy`.
pub async fn run(ctx: &Context, args: DeployArgs) -> anyhow::Result<Report> {
    if args.abort {
        return abort(ctx, &args).await;
    }
    let Some(version) = args.version.as_deref() else {
        return Err(CommandError::new(ExitStatus::Usage, "deploy needs a version").into());
    };
    let started = Instant::now();
    let prepared = bundle_cmd::prepare(
        ctx,
        &BundleOptions {
            env: &args.env,
            version,
            allow_unpinned: false,
            allow_lossy: args.allow_lossy,
        },
    )?;
    let scope =
        EbScope::connect(ctx, &prepared.scope.project, &prepared.settings, &args.env).await?;
    let timeout = scope.timeout(args.timeout.as_deref())?;
    let deadline = started + timeout;
    let eb = &scope.clients.eb;

    // 1. The environment exists, runs a platform that reads this bundle, and is Ready.
    ctx.printer.emit(Event::step(format!(
        "Checking Elastic Beanstalk environment {} ({})",
        scope.eb_environment, scope.application
    )));
    let env = environment::require(eb, &scope.application, &scope.eb_environment).await?;
    if let Some(format) = validate::format_of(&prepared.run.files)
        && !format.fits_stack(&env.solution_stack)
    {
        return Err(CommandError::new(
            ExitStatus::InvalidInput,
            format!(
                "environment {} runs \"{}\", which does not read a {} bundle; set bundle_format \
                 = \"{}\" under [environments.{}] in stevedore.toml",
                scope.eb_environment,
                env.solution_stack,
                format.as_str(),
                if format == crate::bundle::BundleFormat::V2 {
                    "compose"
                } else {
                    "v2"
                },
                scope.env_name
            ),
        )
        .into());
    }
    let env = eb_follow::wait_until_ready(ctx, &scope, env, deadline).await?;
    let previous = env.version_label.clone();

    // 2. The bundle, built where nobody sees it.
    let workdir = tempfile::Builder::new()
        .prefix("stevedore-deploy-")
        .tempdir()?;
    let label = prepared.version.to_string();
    let zip = workdir.path().join(format!("{label}.zip"));
    let built = bundle_cmd::write(ctx, &prepared, &zip, &args.allow_secrets)?;
    let hash12 = description::short(&built.sha256);

    // 3. S3 and the application version, each made once.
    let actions = ensure_version(ctx, &scope, &prepared, &built, &label, &hash12, deadline).await?;

    // 4. Environment properties.
    let (set, remove) = if args.sync_env {
        property_changes(ctx, &scope, &prepared).await?
    } else {
        (Vec::new(), Vec::new())
    };

    // 5. Already there?
    let healthy = scope.healthy(&env);
    if previous.as_deref() == Some(label.as_str()) && healthy && set.is_empty() && remove.is_empty()
    {
        ctx.printer.emit(Event::success(format!(
            "{} already runs {label} ({}); nothing to deploy",
            scope.eb_environment, env.health
        )));
        return Ok(report(
            &scope,
            &prepared,
            &built,
            &actions,
            Outcome {
                state: &env,
                request_id: None,
                set: &set,
                remove: &remove,
                unchanged: true,
                started,
                eb_update_ms: 0,
            },
        ));
    }

    // 6. Update, then follow.
    ctx.printer.emit(Event::step(format!(
        "Deploying {label} to {} (was {})",
        scope.eb_environment,
        previous.as_deref().unwrap_or("no version")
    )));
    let (ending, sent) = eb_follow::update_and_follow(
        ctx,
        &scope,
        &Update {
            version_label: Some(label.clone()),
            set_properties: set.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            remove_properties: remove.clone(),
        },
        deadline,
    )
    .await?;
    match ending {
        Ending::Succeeded(state, closed_at_ms) => {
            // Elastic Beanstalk's own time: from the update request to its closing event.
            let eb_update_ms = closed_at_ms
                .map_or_else(|| now_ms() - sent.at_ms, |closed| closed - sent.at_ms)
                .max(0) as u64;
            ctx.printer.emit(Event::success(format!(
                "{} runs {label}, health {}{}",
                scope.eb_environment,
                state.health,
                state
                    .endpoint_url
                    .as_deref()
                    .map(|u| format!(", at {u}"))
                    .unwrap_or_default()
            )));
            Ok(report(
                &scope,
                &prepared,
                &built,
                &actions,
                Outcome {
                    state: &state,
                    request_id: sent.request_id.as_deref(),
                    set: &set,
                    remove: &remove,
                    unchanged: false,
                    started,
                    eb_update_ms,
                },
            ))
        }
        Ending::Failed { reason, .. } => {
            eb_follow::print_tail_logs(ctx, &scope).await;
            let failure = format!(
                "deploy of {label} to {} failed: {reason}",
                scope.eb_environment
            );
            if !args.rollback_on_failure {
                return Err(CommandError::new(ExitStatus::DeployFailed, failure).into());
            }
            match previous.filter(|p| *p != label) {
                Some(previous) => rollback_to(ctx, &scope, &previous, &failure, timeout).await,
                None => Err(CommandError::new(
                    ExitStatus::DeployFailed,
                    format!("{failure}; no previous version to roll back to"),
                )
                .into()),
            }
        }
        other => {
            Err(
                eb_follow::stopped_watching(&scope, &other, &format!("the deploy of {label}"))
                    .into(),
            )
        }
    }
}

/// What happened to the version and the S3 object.
struct Actions {
    /// `created` or `reused`.
    version: &'static str,
    /// `uploaded` or `skipped`.
    upload: &'static str,
    /// The bundle's bucket and key.
    location: (String, String),
    /// How long Elastic Beanstalk took to process the new version.
    processing_ms: u64,
}

/// Make sure version `label` exists and is this bundle: reuse it when its bundle hash matches,
/// refuse when it does not, otherwise upload (unless S3 has it) and create it.
async fn ensure_version(
    ctx: &Context,
    scope: &EbScope,
    prepared: &Prepared,
    built: &crate::bundle::Built,
    label: &str,
    hash12: &str,
    deadline: Instant,
) -> anyhow::Result<Actions> {
    let eb = &scope.clients.eb;
    if let Some(existing) = versions::find(eb, &scope.application, label).await? {
        let recorded = existing
            .description
            .as_deref()
            .and_then(VersionDescription::parse)
            .map(|d| d.bundle);
        let same = recorded.as_deref() == Some(hash12)
            || existing
                .key
                .as_deref()
                .is_some_and(|k| k.ends_with(&format!("-{hash12}.zip")));
        if !same {
            return Err(CommandError::new(
                ExitStatus::InvalidInput,
                format!(
                    "application version {label} already exists in {} with another bundle ({}); \
                     a version is deployed as it was released: release and publish a new version",
                    scope.application,
                    recorded
                        .map(|h| format!("bundle {h}, this one is {hash12}"))
                        .unwrap_or_else(|| "not made by stevedore".into())
                ),
            )
            .into());
        }
        ctx.printer.emit(Event::info(format!(
            "Application version {label} exists with this bundle ({hash12}); reusing it"
        )));
        let location = (
            existing.bucket.unwrap_or_default(),
            existing.key.unwrap_or_default(),
        );
        return Ok(Actions {
            version: "reused",
            upload: "skipped",
            location,
            processing_ms: 0,
        });
    }
    let bucket = match &scope.bucket {
        Some(bucket) => bucket.clone(),
        None => versions::storage_bucket(eb).await?,
    };
    let key = format!("{}/{label}-{hash12}.zip", scope.application);
    ctx.printer
        .emit(Event::step(format!("Uploading s3://{bucket}/{key}")));
    let printer = ctx.printer.clone();
    let uploaded = upload::upload(
        &scope.clients.s3,
        Object {
            bucket: &bucket,
            key: &key,
            path: &built.path,
            sha256: &built.sha256,
            size: built.size,
        },
        &mut |done, total| {
            printer.emit(Event::Progress {
                id: "upload".into(),
                message: "Uploading".into(),
                current: done,
                total: Some(total),
            });
        },
    )
    .await?;
    let upload_action = if uploaded.skipped {
        ctx.printer.emit(Event::info(
            "The bundle is already in S3 with the same sha256; not uploaded again",
        ));
        "skipped"
    } else {
        ctx.printer.emit(Event::ProgressDone {
            id: "upload".into(),
            message: format!("Uploaded {} bytes", built.size),
        });
        "uploaded"
    };
    let description = VersionDescription {
        commit: prepared.commit.clone().unwrap_or_default(),
        bundle: built.sha256.clone(),
        actor: actor(&prepared.scope.project.root),
        images: prepared
            .pins
            .iter()
            .map(|(service, pin)| {
                let digest = pin.reference.rsplit('@').next().unwrap_or_default();
                (service.to_owned(), digest.to_owned())
            })
            .collect(),
    }
    .render();
    ctx.printer.emit(Event::step(format!(
        "Creating application version {label} ({description})"
    )));
    versions::create(
        eb,
        &NewVersion {
            application: &scope.application,
            label,
            description: &description,
            bucket: &bucket,
            key: &key,
            process: true,
        },
    )
    .await?;
    // Process=true makes EB read the bundle and its .ebextensions now, not mid-deploy.
    let processing = Instant::now();
    let status = versions::wait_processed(eb, &scope.application, label, deadline).await?;
    let processing_ms = processing.elapsed().as_millis() as u64;
    match status.as_str() {
        "PROCESSED" | "UNPROCESSED" => {}
        "FAILED" => {
            return Err(CommandError::new(
                ExitStatus::DeployFailed,
                format!(
                    "Elastic Beanstalk could not process application version {label} (its \
                     bundle or .ebextensions); see the application's events"
                ),
            )
            .into());
        }
        other => {
            return Err(CommandError::new(
                ExitStatus::TimedOut,
                format!("application version {label} is still {other}; try again later"),
            )
            .into());
        }
    }
    Ok(Actions {
        version: "created",
        upload: upload_action,
        location: (bucket, key),
        processing_ms,
    })
}

/// Who is deploying: `STEVEDORE_ACTOR` or the CI's actor, else git's user, else the login name.
fn actor(root: &std::path::Path) -> String {
    let variable = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let from_ci = ["STEVEDORE_ACTOR", "GITHUB_ACTOR", "GITLAB_USER_LOGIN"]
        .into_iter()
        .find_map(variable);
    let from_git = || {
        let git = Git::new(root);
        ["user.email", "user.name"].into_iter().find_map(|key| {
            git.run(&["config", key])
                .ok()
                .filter(|v| !v.trim().is_empty())
        })
    };
    from_ci
        .or_else(from_git)
        .or_else(|| variable("USER"))
        .unwrap_or_else(|| "unknown".into())
}

/// The property changes that make the environment's properties equal `.env` (values are never
/// printed, only keys).
async fn property_changes(
    ctx: &Context,
    scope: &EbScope,
    prepared: &Prepared,
) -> anyhow::Result<(Vec<(String, String)>, Vec<String>)> {
    let environment = prepared.scope.project.environment(&scope.env_name)?;
    let path = environment.dir.join(".env");
    if !path.is_file() {
        return Err(CommandError::new(
            ExitStatus::InvalidInput,
            format!(
                "--sync-env reads {}, which does not exist; copy .env.example to .env and fill it in",
                prepared.scope.project.relative(&path)
            ),
        )
        .into());
    }
    let file = dotenv::read(&path)?;
    let desired: BTreeMap<String, String> = file
        .keys()
        .filter(|k| !TOOLING_KEYS.contains(k))
        .map(|k| (k.to_owned(), file.get(k).unwrap_or_default().to_owned()))
        .collect();
    let current: BTreeMap<String, String> =
        environment::properties(&scope.clients.eb, &scope.application, &scope.eb_environment)
            .await?
            .into_iter()
            .collect();
    let managed: Vec<String> = current
        .get(SYNCED_KEYS)
        .map(|v| {
            v.split(',')
                .filter(|k| !k.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let mut set: Vec<(String, String)> = desired
        .iter()
        .filter(|(k, v)| current.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let remove: Vec<String> = managed
        .into_iter()
        .filter(|k| !desired.contains_key(k) && current.contains_key(k))
        .collect();
    let listed = desired.keys().cloned().collect::<Vec<_>>().join(",");
    if current.get(SYNCED_KEYS) != Some(&listed) {
        set.push((SYNCED_KEYS.to_owned(), listed));
    }
    let names = |keys: Vec<&str>| {
        if keys.is_empty() {
            "nothing".to_owned()
        } else {
            keys.join(", ")
        }
    };
    ctx.printer.emit(Event::info(format!(
        "Environment properties from {}: setting {}; removing {} (values are not shown)",
        prepared.scope.project.relative(&path),
        names(
            set.iter()
                .map(|(k, _)| k.as_str())
                .filter(|k| *k != SYNCED_KEYS)
                .collect()
        ),
        names(remove.iter().map(String::as_str).collect())
    )));
    Ok((set, remove))
}

/// After a failed deploy: redeploy `previous` and follow it; exit 9 when it is healthy again.
async fn rollback_to(
    ctx: &Context,
    scope: &EbScope,
    previous: &str,
    failure: &str,
    timeout: std::time::Duration,
) -> anyhow::Result<Report> {
    ctx.printer.emit(Event::warning(format!(
        "{failure}; rolling back to {previous}"
    )));
    let deadline = Instant::now() + timeout;
    let env =
        environment::require(&scope.clients.eb, &scope.application, &scope.eb_environment).await?;
    eb_follow::wait_until_ready(ctx, scope, env, deadline).await?;
    let (ending, _) = eb_follow::update_and_follow(
        ctx,
        scope,
        &Update {
            version_label: Some(previous.to_owned()),
            ..Update::default()
        },
        deadline,
    )
    .await?;
    match ending {
        Ending::Succeeded(state, _) => Err(CommandError::new(
            ExitStatus::RolledBack,
            format!(
                "{failure}; rolled back to {previous}, which runs with health {}",
                state.health
            ),
        )
        .into()),
        Ending::Failed { reason, .. } => Err(CommandError::new(
            ExitStatus::DeployFailed,
            format!("{failure}; the rollback to {previous} failed too: {reason}"),
        )
        .into()),
        other => {
            Err(
                eb_follow::stopped_watching(scope, &other, &format!("the rollback to {previous}"))
                    .into(),
            )
        }
    }
}

/// `deploy <env> --abort`: stop the update in progress, wait for Ready.
async fn abort(ctx: &Context, args: &DeployArgs) -> anyhow::Result<Report> {
    let (project, settings) = eb_scope::settings_of(ctx, &args.env)?;
    let scope = EbScope::connect(ctx, &project, &settings, &args.env).await?;
    let deadline = Instant::now() + scope.timeout(args.timeout.as_deref())?;
    let eb = &scope.clients.eb;
    let env = environment::require(eb, &scope.application, &scope.eb_environment).await?;
    if env.is_ready() || !env.abortable {
        ctx.printer.emit(Event::info(format!(
            "{} is {} with no operation that can be aborted; nothing to do",
            env.name, env.status
        )));
        return Ok(Report::ok(
            json!({"eb_environment": env.name, "aborted": false, "status": env.status, "health": env.health, "version_label": env.version_label}),
            format!("Nothing to abort: {} is {}", env.name, env.status),
        ));
    }
    ctx.printer
        .emit(Event::step(format!("Aborting the update of {}", env.name)));
    environment::abort(eb, &scope.eb_environment).await?;
    let state = environment::wait_ready(
        eb,
        &scope.application,
        &scope.eb_environment,
        deadline,
        std::time::Duration::from_secs(1),
        &mut |_| {},
    )
    .await
    .map_err(|err| CommandError::new(ExitStatus::TimedOut, format!("aborting: {err}")))?;
    Ok(Report::ok(
        json!({"eb_environment": state.name, "aborted": true, "status": state.status, "health": state.health, "version_label": state.version_label}),
        format!(
            "Aborted: {} is Ready on {} (health {})",
            state.name,
            state.version_label.as_deref().unwrap_or("no version"),
            state.health
        ),
    ))
}

/// What a finished deploy did.
struct Outcome<'a> {
    state: &'a EnvState,
    request_id: Option<&'a str>,
    set: &'a [(String, String)],
    remove: &'a [String],
    unchanged: bool,
    started: Instant,
    /// Elastic Beanstalk's own time for the update.
    eb_update_ms: u64,
}

fn report(
    scope: &EbScope,
    prepared: &Prepared,
    built: &crate::bundle::Built,
    actions: &Actions,
    outcome: Outcome<'_>,
) -> Report {
    let total_ms = outcome.started.elapsed().as_millis() as u64;
    let eb_ms = actions.processing_ms + outcome.eb_update_ms;
    let label = prepared.version.to_string();
    let data = json!({
        "environment": scope.env_name,
        "application": scope.application,
        "eb_environment": scope.eb_environment,
        "version": label,
        "commit": prepared.commit,
        "images": prepared.pins.iter().map(|(s, p)| json!({"service": s, "image": p.reference})).collect::<Vec<_>>(),
        "bundle": {
            "sha256": built.sha256,
            "size": built.size,
            "bucket": actions.location.0,
            "key": actions.location.1,
            "upload": actions.upload,
        },
        "application_version": actions.version,
        "request_id": outcome.request_id,
        "unchanged": outcome.unchanged,
        "status": outcome.state.status,
        "health": outcome.state.health,
        "version_label": outcome.state.version_label,
        "endpoint_url": outcome.state.endpoint_url,
        "properties": {
            "set": outcome.set.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
            "removed": outcome.remove,
        },
        // What stevedore adds to Elastic Beanstalk's own time (processing the version,
        // updating the environment): resolving, bundling, uploading, polling latency.
        "timings_ms": {
            "total": total_ms,
            "eb_processing": actions.processing_ms,
            "eb_update": outcome.eb_update_ms,
            "overhead": total_ms.saturating_sub(eb_ms),
        },
    });
    let text = format!(
        "{} {label} on {} ({}), health {}",
        if outcome.unchanged {
            "Already deployed:"
        } else {
            "Deployed"
        },
        scope.eb_environment,
        scope.application,
        outcome.state.health
    );
    Report::ok(data, text)
}
