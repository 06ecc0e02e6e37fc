//! Deploying a prepared bundle: the environment must exist and be Ready (waited for,
//! bounded), the bundle goes to S3 once (`<app>/<label>-<sha12>.zip`), the version is created
//! once (a label that exists with the same bundle is reused, with another one refused), then
//! `UpdateEnvironment` is followed until the environment is Ready on the version with
//! acceptable health, failed (exit 7 with the failure events and the tail logs; 9 when
//! `rollback_on_failure` restored the previous version within the same deadline), or the
//! time is up (8). [`abort`] stops an update in progress.

use std::path::PathBuf;
use std::time::Instant;

use super::follow::{self, Ending, now_ms};
use super::{EbTarget, rollback, sync_env};
use crate::aws::description::{self, VersionDescription};
use crate::aws::environment::{self, EnvState, Update};
use crate::aws::upload::{self, Object};
use crate::aws::versions::{self, NewVersion};
use crate::bundle::prepare::{self, Prepared};
use crate::bundle::{Built, validate};
use crate::exit::{CommandError, ExitStatus};
use crate::git::Git;
use crate::output::Event;

/// How to deploy.
pub struct DeployOptions<'a> {
    /// Files the secret guard may let into the bundle.
    pub allow_secrets: &'a [PathBuf],
    /// Make the environment's properties equal `.env`.
    pub sync_env: bool,
    /// Run the previous version again when the deploy fails.
    pub rollback_on_failure: bool,
    /// When the whole command (the rollback included) must be done.
    pub deadline: Instant,
    /// Wait for the deploy lock when another run holds it (else exit 10 at once).
    pub wait_for_lock: bool,
}

/// What a finished deploy did.
pub struct Deployed {
    /// The bundle.
    pub built: Built,
    /// What happened to the version and its S3 object.
    pub actions: Actions,
    /// The environment at the end.
    pub state: EnvState,
    /// The update's request id.
    pub request_id: Option<String>,
    /// Properties set (`--sync-env`).
    pub set: Vec<(String, String)>,
    /// Properties removed (`--sync-env`).
    pub remove: Vec<String>,
    /// Nothing had to change.
    pub unchanged: bool,
    /// Elastic Beanstalk's own time for the update.
    pub eb_update_ms: u64,
}

/// Deploy `prepared` to `scope`'s environment and follow the update to its end (see the
/// module's documentation for the steps and exit codes).
pub async fn deploy(
    scope: &EbTarget,
    prepared: &Prepared,
    options: &DeployOptions<'_>,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<Deployed> {
    // One deploy at a time per environment, across machines (see `super::lock`).
    let label = prepared.version.to_string();
    let what = super::lock::LockFor {
        command: "deploy",
        version: Some(&label),
        commit: prepared.commit.as_deref(),
        root: &prepared.scope.project.root,
        wait: options.wait_for_lock,
        deadline: options.deadline,
    };
    super::lock::with_lock(
        scope,
        &what,
        emit,
        deploy_locked(scope, prepared, options, emit),
    )
    .await
}

/// [`deploy`], the lock held.
async fn deploy_locked(
    scope: &EbTarget,
    prepared: &Prepared,
    options: &DeployOptions<'_>,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<Deployed> {
    let deadline = options.deadline;
    // Every AWS call ends by the deadline, the rollback's included (`aws::deadline`).
    scope.clients.bound_by(deadline);
    let eb = &scope.clients.eb;

    // 1. The environment exists, runs a platform that reads this bundle, and is Ready.
    emit(Event::step(format!(
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
    let env = follow::wait_until_ready(scope, env, deadline, emit).await?;
    let previous = env.version_label.clone();

    // 2. The bundle, built where nobody sees it.
    let workdir = tempfile::Builder::new()
        .prefix("stevedore-deploy-")
        .tempdir()?;
    let label = prepared.version.to_string();
    let zip = workdir.path().join(format!("{label}.zip"));
    let built = prepare::write(prepared, &zip, options.allow_secrets, emit)?;
    let hash12 = description::short(&built.sha256);

    // 3. S3 and the application version, each made once.
    let actions = ensure_version(scope, prepared, &built, &label, &hash12, deadline, emit).await?;

    // 4. Environment properties.
    let (set, remove) = if options.sync_env {
        sync_env::property_changes(scope, &prepared.scope.project, emit).await?
    } else {
        (Vec::new(), Vec::new())
    };

    // 5. Already there?
    let healthy = scope.healthy(&env);
    if previous.as_deref() == Some(label.as_str()) && healthy && set.is_empty() && remove.is_empty()
    {
        emit(Event::success(format!(
            "{} already runs {label} ({}); nothing to deploy",
            scope.eb_environment, env.health
        )));
        return Ok(Deployed {
            built,
            actions,
            state: env,
            request_id: None,
            set,
            remove,
            unchanged: true,
            eb_update_ms: 0,
        });
    }

    // 6. Update, then follow.
    emit(Event::step(format!(
        "Deploying {label} to {} (was {})",
        scope.eb_environment,
        previous.as_deref().unwrap_or("no version")
    )));
    let (ending, sent) = follow::update_and_follow(
        scope,
        &Update {
            version_label: Some(label.clone()),
            set_properties: set.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            remove_properties: remove.clone(),
        },
        deadline,
        emit,
    )
    .await?;
    match ending {
        Ending::Succeeded(state, closed_at_ms) => {
            // Elastic Beanstalk's own time: from the update request to its closing event.
            let eb_update_ms = closed_at_ms
                .map_or_else(|| now_ms() - sent.at_ms, |closed| closed - sent.at_ms)
                .max(0) as u64;
            emit(Event::success(format!(
                "{} runs {label}, health {}{}",
                scope.eb_environment,
                state.health,
                state
                    .endpoint_url
                    .as_deref()
                    .map(|u| format!(", at {u}"))
                    .unwrap_or_default()
            )));
            Ok(Deployed {
                built,
                actions,
                state,
                request_id: sent.request_id,
                set,
                remove,
                unchanged: false,
                eb_update_ms,
            })
        }
        Ending::Failed { reason, .. } => {
            follow::print_tail_logs(scope, emit).await;
            let failure = format!(
                "deploy of {label} to {} failed: {reason}",
                scope.eb_environment
            );
            if !options.rollback_on_failure {
                return Err(CommandError::new(ExitStatus::DeployFailed, failure).into());
            }
            match previous.filter(|p| *p != label) {
                Some(previous) => Err(roll_back(scope, &previous, &failure, deadline, emit).await),
                None => Err(CommandError::new(
                    ExitStatus::DeployFailed,
                    format!("{failure}; no previous version to roll back to"),
                )
                .into()),
            }
        }
        other => {
            Err(follow::stopped_watching(scope, &other, &format!("the deploy of {label}")).into())
        }
    }
}

/// What happened to the version and the S3 object.
pub struct Actions {
    /// `created` or `reused`.
    pub version: &'static str,
    /// `uploaded` or `skipped`.
    pub upload: &'static str,
    /// The bundle's bucket and key.
    pub location: (String, String),
    /// How long Elastic Beanstalk took to process the new version.
    pub processing_ms: u64,
}

/// Make sure version `label` exists and is this bundle: reuse it when its bundle hash matches,
/// refuse when it does not, otherwise upload (unless S3 has it) and create it.
async fn ensure_version(
    scope: &EbTarget,
    prepared: &Prepared,
    built: &Built,
    label: &str,
    hash12: &str,
    deadline: Instant,
    emit: &(dyn Fn(Event) + Sync),
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
        emit(Event::info(format!(
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
    emit(Event::step(format!("Uploading s3://{bucket}/{key}")));
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
            emit(Event::Progress {
                id: "upload".into(),
                message: "Uploading".into(),
                current: done,
                total: Some(total),
            });
        },
    )
    .await?;
    let upload_action = if uploaded.skipped {
        emit(Event::info(
            "The bundle is already in S3 with the same sha256; not uploaded again",
        ));
        "skipped"
    } else {
        emit(Event::ProgressDone {
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
    emit(Event::step(format!(
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

/// After a failed deploy: run `previous` again within the same deadline; the error says how
/// that went (exit 9 when it is healthy again).
async fn roll_back(
    scope: &EbTarget,
    previous: &str,
    failure: &str,
    deadline: Instant,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Error {
    if Instant::now() >= deadline {
        return CommandError::new(
            ExitStatus::TimedOut,
            format!(
                "{failure}; no time left within the deadline to roll back: run `{}`",
                crate::hint::command(&["rollback", &scope.env_name, previous])
            ),
        )
        .into();
    }
    emit(Event::warning(format!(
        "{failure}; rolling back to {previous}"
    )));
    let switched =
        match environment::require(&scope.clients.eb, &scope.application, &scope.eb_environment)
            .await
        {
            Ok(state) => rollback::switch_to(scope, state, previous, deadline, emit).await,
            Err(err) => Err(err.into()),
        };
    match switched {
        Ok(Ending::Succeeded(state, _)) => CommandError::new(
            ExitStatus::RolledBack,
            format!(
                "{failure}; rolled back to {previous}, which runs with health {}",
                state.health
            ),
        )
        .into(),
        Ok(Ending::Failed { reason, .. }) => CommandError::new(
            ExitStatus::DeployFailed,
            format!("{failure}; the rollback to {previous} failed too: {reason}"),
        )
        .into(),
        Ok(other) => {
            follow::stopped_watching(scope, &other, &format!("the rollback to {previous}")).into()
        }
        Err(err) => err,
    }
}

/// `deploy <env> --abort`: stop the update in progress and wait (until `deadline`) for Ready.
/// Returns whether there was something to abort, and the state at the end.
pub async fn abort(
    scope: &EbTarget,
    deadline: Instant,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<(bool, EnvState)> {
    scope.clients.bound_by(deadline);
    let eb = &scope.clients.eb;
    let env = environment::require(eb, &scope.application, &scope.eb_environment).await?;
    if env.is_ready() || !env.abortable {
        emit(Event::info(format!(
            "{} is {} with no operation that can be aborted; nothing to do",
            env.name, env.status
        )));
        return Ok((false, env));
    }
    emit(Event::step(format!("Aborting the update of {}", env.name)));
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
    Ok((true, state))
}
