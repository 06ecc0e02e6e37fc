//! The environment state machine in real time: `Ready` → `Updating` (Grey) → `Ready` (Green or
//! Red), with EB's event sequences for success and failure, tagged with the request id of the
//! operation that started them. Also launching, busy holds, aborts and version processing.

use std::sync::Arc;
use std::time::Duration;

use super::instance::{self, Failure, Job, Running};
use super::state::{EnvStatus, HEALTH_URL_OPTION, Health, Severity, VersionStatus, now_ms};
use super::{Shared, lock};

/// Run `work` as the environment's operation, so AbortEnvironmentUpdate and shutdown can stop it.
fn spawn_for(shared: &Arc<Shared>, env_id: &str, work: impl Future<Output = ()> + Send + 'static) {
    let handle = tokio::spawn(work);
    let mut tasks = lock(&shared.tasks);
    tasks.retain(|(_, t)| !t.is_finished());
    tasks.push((env_id.to_owned(), handle.abort_handle()));
}

/// What a deployment needs from the state, read under one lock.
struct Context {
    app: String,
    env_name: String,
    previous_label: Option<String>,
    previous_deployment: Option<u64>,
    instance_id: String,
}

impl Context {
    /// Record an event of this deployment (its environment, version and request).
    fn emit(
        &self,
        shared: &Shared,
        label: &str,
        request_id: &str,
        severity: Severity,
        message: impl Into<String>,
    ) {
        shared.state().event(
            severity,
            message,
            &self.app,
            Some(&self.env_name),
            Some(label),
            Some(request_id),
        );
    }
}

fn context(shared: &Shared, env_id: &str, label: &str, deployment: u64) -> Option<(Context, Job)> {
    let state = shared.state();
    let env = state.environments.iter().find(|e| e.id == env_id)?;
    let version = state.versions.get(&(env.app.clone(), label.to_owned()))?;
    let health_path = env
        .options
        .get(&(
            HEALTH_URL_OPTION.0.to_owned(),
            HEALTH_URL_OPTION.1.to_owned(),
        ))
        .cloned()
        .unwrap_or_else(|| shared.options.health_path.clone());
    let health_path = if health_path.starts_with('/') {
        health_path
    } else {
        format!("/{health_path}")
    };
    Some((
        Context {
            app: env.app.clone(),
            env_name: env.name.clone(),
            previous_label: env.version_label.clone(),
            previous_deployment: env.deployment,
            instance_id: env.instance_id.clone(),
        },
        Job {
            env_id: env_id.to_owned(),
            label: label.to_owned(),
            deployment,
            platform: env.platform,
            properties: env.properties(),
            health_path,
            bucket: version.bucket.clone().unwrap_or_default(),
            key: version.key.clone().unwrap_or_default(),
        },
    ))
}

/// What an environment operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// UpdateEnvironment with a VersionLabel.
    Deploy,
    /// UpdateEnvironment with option settings only: the app restarts with the new configuration.
    Configure,
    /// CreateEnvironment with a VersionLabel.
    Launch,
}

/// Start deploying `label` to the environment (already set `Updating` by the caller).
pub fn start_update(
    shared: &Arc<Shared>,
    env_id: &str,
    label: String,
    request_id: String,
    op: Operation,
) {
    let sim = shared.clone();
    let id = env_id.to_owned();
    spawn_for(shared, env_id, async move {
        update(sim, id, label, request_id, op).await;
    });
}

/// Start launching a new environment (already recorded as `Launching`).
pub fn start_launch(shared: &Arc<Shared>, env_id: &str, label: Option<String>, request_id: String) {
    let sim = shared.clone();
    let id = env_id.to_owned();
    spawn_for(shared, env_id, async move {
        launch(sim, id, label, request_id).await;
    });
}

async fn launch(shared: Arc<Shared>, env_id: String, label: Option<String>, request_id: String) {
    let step = shared.options.timings.step;
    let (app, name) = {
        let state = shared.state();
        let Some(env) = state.environments.iter().find(|e| e.id == env_id) else {
            return;
        };
        (env.app.clone(), env.name.clone())
    };
    let bucket = storage_bucket_name(&shared);
    tokio::time::sleep(step).await;
    shared.state().event(
        Severity::Info,
        format!("Using {bucket} as Amazon S3 storage bucket for environment data."),
        &app,
        Some(&name),
        None,
        Some(&request_id),
    );
    tokio::time::sleep(shared.options.timings.launch).await;
    match label {
        Some(label) => update(shared, env_id, label, request_id, Operation::Launch).await,
        None => {
            let mut state = shared.state();
            if let Some(env) = state.env_mut(&env_id) {
                env.status = EnvStatus::Ready;
                env.health = Health::Green;
                env.updated = now_ms();
            }
            state.event(
                Severity::Info,
                format!("Successfully launched environment: {name}"),
                &app,
                Some(&name),
                None,
                Some(&request_id),
            );
        }
    }
}

async fn update(
    shared: Arc<Shared>,
    env_id: String,
    label: String,
    request_id: String,
    op: Operation,
) {
    let step = shared.options.timings.step;
    let deployment = shared.state().next_deployment();
    let Some((ctx, job)) = context(&shared, &env_id, &label, deployment) else {
        return;
    };
    let event = |severity: Severity, message: String| {
        ctx.emit(&shared, &label, &request_id, severity, message);
    };
    tokio::time::sleep(step).await;
    if op == Operation::Configure {
        event(
            Severity::Info,
            format!(
                "Updating environment {}'s configuration settings.",
                ctx.env_name
            ),
        );
    } else {
        event(
            Severity::Info,
            "Deploying new version to instance(s).".into(),
        );
    }
    let delay = shared
        .knobs()
        .deploy_delay
        .unwrap_or(shared.options.timings.deploy_delay);
    tokio::time::sleep(delay).await;
    let outcome = if shared.knobs().take_fail_next_deploy() {
        instance::log(
            &shared,
            &env_id,
            "ERROR",
            "deployment failed on purpose (fail_next_deploy knob)",
        );
        Err(Failure {
            event: None,
            detail: "fail_next_deploy knob".into(),
        })
    } else {
        instance::deploy(&shared, &job).await
    };
    match outcome {
        Ok(running) => succeed(&shared, &ctx, &job, running, &request_id, op, step).await,
        Err(failure) => fail(&shared, &ctx, &job, failure, &request_id, op, step).await,
    }
}

async fn succeed(
    shared: &Shared,
    ctx: &Context,
    job: &Job,
    running: Running,
    request_id: &str,
    op: Operation,
    step: Duration,
) {
    let event = |message: &str| ctx.emit(shared, &job.label, request_id, Severity::Info, message);
    tokio::time::sleep(step).await;
    event("Instance deployment completed successfully.");
    // The previous version's containers make way for the new ones.
    if let (Some(previous), Ok(engine)) = (ctx.previous_deployment, shared.engine().await)
        && shared.options.run_containers
    {
        engine.remove_deployment(&job.env_id, previous).await;
    }
    tokio::time::sleep(step).await;
    if op == Operation::Deploy {
        event("New application version was deployed to running EC2 instances.");
        tokio::time::sleep(step).await;
    }
    let mut state = shared.state();
    if let Some(env) = state.env_mut(&job.env_id) {
        env.status = EnvStatus::Ready;
        env.health = Health::Green;
        env.causes.clear();
        env.abortable = false;
        env.version_label = Some(job.label.clone());
        env.ports = running.ports;
        env.endpoint = running.endpoint;
        env.deployment = Some(job.deployment);
        env.updated = now_ms();
    }
    let done = match op {
        Operation::Launch => format!("Successfully launched environment: {}", ctx.env_name),
        Operation::Configure => {
            "Successfully deployed new configuration to environment.".to_owned()
        }
        Operation::Deploy => "Environment update completed successfully.".to_owned(),
    };
    state.event(
        Severity::Info,
        done,
        &ctx.app,
        Some(&ctx.env_name),
        Some(&job.label),
        Some(request_id),
    );
}

async fn fail(
    shared: &Shared,
    ctx: &Context,
    job: &Job,
    failure: Failure,
    request_id: &str,
    op: Operation,
    step: Duration,
) {
    instance::log(shared, &job.env_id, "ERROR", &failure.detail);
    // The new containers go; the previous version keeps what it had.
    if shared.options.run_containers
        && let Some(Ok(engine)) = shared.engine.get()
    {
        engine.remove_deployment(&job.env_id, job.deployment).await;
    }
    let instance = &ctx.instance_id;
    let mut sequence: Vec<(Severity, String)> = Vec::new();
    if let Some(specific) = failure.event {
        sequence.push((Severity::Error, specific));
    }
    sequence.extend([
        (Severity::Error, "Instance deployment failed. For details, see 'eb-engine.log'.".to_owned()),
        (
            Severity::Error,
            format!("[Instance: {instance}] Command failed on instance. Return code: 1 Output: Engine execution has encountered an error.."),
        ),
        (
            Severity::Info,
            "Command execution completed on all instances. Summary: [Successful: 0, Failed: 1].".to_owned(),
        ),
        (
            Severity::Error,
            format!("Unsuccessful command execution on instance id(s) '{instance}'. Aborting the operation."),
        ),
    ]);
    for (severity, message) in sequence {
        ctx.emit(shared, &job.label, request_id, severity, message);
        tokio::time::sleep(step).await;
    }
    let last = match op {
        Operation::Launch => {
            "Create environment operation is complete, but with errors. For more information, see troubleshooting documentation."
        }
        Operation::Configure => "Failed to deploy configuration.",
        Operation::Deploy => "Failed to deploy application.",
    };
    let mut state = shared.state();
    if let Some(env) = state.env_mut(&job.env_id) {
        env.status = EnvStatus::Ready;
        env.health = Health::Red;
        env.causes = vec![
            last.to_owned(),
            "Incorrect application version found on all instances.".to_owned(),
        ];
        env.abortable = false;
        env.version_label = ctx.previous_label.clone();
        env.updated = now_ms();
    }
    state.event(
        Severity::Error,
        last,
        &ctx.app,
        Some(&ctx.env_name),
        Some(&job.label),
        Some(request_id),
    );
}

/// A configuration update of an environment that runs no version (EB's sample application):
/// Updating for a few steps with EB's configuration events, then Ready and Green.
pub fn start_reconfigure(shared: &Arc<Shared>, env_id: &str, request_id: String) {
    let sim = shared.clone();
    let id = env_id.to_owned();
    spawn_for(shared, env_id, async move {
        let step = sim.options.timings.step;
        let Some((app, name)) = sim
            .state()
            .environments
            .iter()
            .find(|e| e.id == id)
            .map(|e| (e.app.clone(), e.name.clone()))
        else {
            return;
        };
        tokio::time::sleep(step).await;
        sim.state().event(
            Severity::Info,
            format!("Updating environment {name}'s configuration settings."),
            &app,
            Some(&name),
            None,
            Some(&request_id),
        );
        tokio::time::sleep(step).await;
        let mut state = sim.state();
        if let Some(env) = state.env_mut(&id) {
            env.status = EnvStatus::Ready;
            env.health = Health::Green;
            env.abortable = false;
            env.updated = now_ms();
        }
        state.event(
            Severity::Info,
            "Successfully deployed new configuration to environment.",
            &app,
            Some(&name),
            None,
            Some(&request_id),
        );
    });
}

/// Hold the Ready environment `name` in `Updating` for `duration`; false if it is not Ready.
pub fn hold_busy(shared: &Arc<Shared>, name: &str, duration: Duration) -> bool {
    let id = {
        let mut state = shared.state();
        let Some(id) = state
            .env_by_name(name)
            .filter(|e| e.status == EnvStatus::Ready)
            .map(|e| e.id.clone())
        else {
            return false;
        };
        if let Some(env) = state.env_mut(&id) {
            env.status = EnvStatus::Updating;
            env.health = Health::Grey;
        }
        id
    };
    let sim = shared.clone();
    spawn_for(shared, &id.clone(), async move {
        tokio::time::sleep(duration).await;
        let mut state = sim.state();
        if let Some(env) = state.env_mut(&id)
            && env.status == EnvStatus::Updating
        {
            env.status = EnvStatus::Ready;
            env.health = if env.causes.is_empty() {
                Health::Green
            } else {
                Health::Red
            };
        }
    });
    true
}

/// Stop the environment's running operation and return it to Ready with the previous version.
pub fn abort(shared: &Arc<Shared>, env_id: &str, request_id: String) {
    let running: Vec<_> = {
        let mut tasks = lock(&shared.tasks);
        let (mine, rest): (Vec<_>, Vec<_>) = tasks.drain(..).partition(|(id, _)| id == env_id);
        *tasks = rest;
        mine
    };
    for (_, task) in running {
        task.abort();
    }
    let (app, name, deployment) = {
        let mut state = shared.state();
        let Some(env) = state.env_mut(env_id) else {
            return;
        };
        env.status = EnvStatus::Aborting;
        env.abortable = false;
        let info = (env.app.clone(), env.name.clone(), env.deployment);
        state.event(
            Severity::Info,
            "Environment update is aborting.",
            &info.0,
            Some(&info.1),
            None,
            Some(&request_id),
        );
        info
    };
    let sim = shared.clone();
    let id = env_id.to_owned();
    tokio::spawn(async move {
        // Containers of the aborted deployment (any number but the running one) go.
        if let Some(Ok(engine)) = sim.engine.get() {
            engine.remove_environment_except(&id, deployment).await;
        }
        tokio::time::sleep(sim.options.timings.step).await;
        let mut state = sim.state();
        if let Some(env) = state.env_mut(&id) {
            env.status = EnvStatus::Ready;
            env.health = if env.causes.is_empty() {
                Health::Green
            } else {
                Health::Red
            };
        }
        state.event(
            Severity::Info,
            "Environment update was aborted.",
            &app,
            Some(&name),
            None,
            Some(&request_id),
        );
    });
}

/// Move a `Process=true` version from PROCESSING to PROCESSED (or FAILED when its bundle cannot
/// be fetched or is not a zip) after the configured time.
pub fn start_processing(shared: &Arc<Shared>, app: String, label: String) {
    let sim = shared.clone();
    tokio::spawn(async move {
        tokio::time::sleep(sim.options.timings.process).await;
        let location = {
            let state = sim.state();
            state.versions.get(&(app.clone(), label.clone())).map(|v| {
                (
                    v.bucket.clone().unwrap_or_default(),
                    v.key.clone().unwrap_or_default(),
                )
            })
        };
        let Some((bucket, key)) = location else {
            return;
        };
        let ok = match super::bundle::fetch(&sim.s3, &bucket, &key).await {
            Ok(bytes) => zip::ZipArchive::new(std::io::Cursor::new(bytes)).is_ok(),
            Err(_) => false,
        };
        let mut state = sim.state();
        if let Some(version) = state.versions.get_mut(&(app, label)) {
            version.status = if ok {
                VersionStatus::Processed
            } else {
                VersionStatus::Failed
            };
            version.updated = now_ms();
        }
    });
}

/// `elasticbeanstalk-<region>-<account>`, as CreateStorageLocation names it.
pub fn storage_bucket_name(shared: &Shared) -> String {
    format!(
        "elasticbeanstalk-{}-{}",
        shared.options.region, shared.options.account_id
    )
}
