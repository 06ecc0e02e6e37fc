//! What one instance does for a deployment: fetch the bundle, validate it for the platform,
//! resolve every image in its registry, pull, start the containers and probe the app. Each step
//! is written to the environment's `eb-engine.log`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use super::engine::{self, Target};
use super::plan::{self, BundleFiles, Platform, RunPlan};
use super::registry::{self, Basic, ImageRef};
use super::state::{PortMapping, now_ms};
use super::{Shared, bundle, probe};

/// One deployment's inputs.
pub struct Job {
    /// Environment id.
    pub env_id: String,
    /// Version label.
    pub label: String,
    /// Deployment number.
    pub deployment: u64,
    /// Platform.
    pub platform: Platform,
    /// Environment properties.
    pub properties: Vec<(String, String)>,
    /// Health-check path.
    pub health_path: String,
    /// Bundle location.
    pub bucket: String,
    /// Bundle key.
    pub key: String,
}

/// A deployment that serves.
pub struct Running {
    /// Published loopback ports.
    pub ports: Vec<PortMapping>,
    /// The entry port.
    pub endpoint: Option<SocketAddr>,
}

/// A deployment that failed: `event` is the specific ERROR event EB emits (if any) before the
/// generic failure sequence; `detail` goes to `eb-engine.log`.
pub struct Failure {
    /// Specific event.
    pub event: Option<String>,
    /// Log detail.
    pub detail: String,
}

impl Failure {
    fn visible(text: String) -> Failure {
        Failure {
            event: Some(text.clone()),
            detail: text,
        }
    }

    fn logged(detail: String) -> Failure {
        Failure {
            event: None,
            detail,
        }
    }
}

/// Append a line to the environment's `eb-engine.log`.
pub fn log(shared: &Shared, env_id: &str, level: &str, line: &str) {
    let time = super::state::date(now_ms())
        .fmt(aws_sdk_elasticbeanstalk::primitives::DateTimeFormat::DateTime)
        .unwrap_or_default();
    if let Some(env) = shared.state().env_mut(env_id) {
        env.engine_log.push(format!("{time} [{level}] {line}"));
    }
}

/// Run `job` on the instance.
pub async fn deploy(shared: &Shared, job: &Job) -> Result<Running, Failure> {
    let log = |level: &str, line: &str| log(shared, &job.env_id, level, line);
    log(
        "INFO",
        &format!(
            "Starting EBPlatform-PlatformEngine for version {}",
            job.label
        ),
    );
    log(
        "INFO",
        &format!("Downloading s3://{}/{}", job.bucket, job.key),
    );
    let bytes = bundle::fetch(&shared.s3, &job.bucket, &job.key)
        .await
        .map_err(Failure::visible)?;
    let app_dir = shared
        .workdir
        .join(&job.env_id)
        .join(format!("deployment-{}", job.deployment));
    bundle::extract(&bytes, &app_dir).map_err(Failure::visible)?;
    let files = BundleFiles::read(&app_dir);
    let plan =
        plan::plan(&files, job.platform, &job.properties).map_err(|e| Failure::visible(e.event))?;
    log(
        "INFO",
        &format!(
            "Bundle is a {:?} bundle with {} container(s)",
            plan.kind,
            plan.containers.len()
        ),
    );

    let credentials = credentials(shared, &plan).await?;
    let mut images = Vec::new();
    for spec in &plan.containers {
        let image = ImageRef::parse(&spec.image).map_err(Failure::logged)?;
        // Containers sharing an image need it resolved and pulled once.
        if images.iter().any(|(known, _)| known == &image) {
            continue;
        }
        let auth = credentials.get(&image.host);
        let digest = registry::resolve(&image, auth).await.map_err(|e| {
            log("ERROR", &e);
            Failure::logged(e)
        })?;
        log("INFO", &format!("Image {image} resolved to {digest}"));
        images.push((image, auth.cloned()));
    }
    if !shared.options.run_containers {
        return Ok(Running {
            ports: Vec::new(),
            endpoint: None,
        });
    }
    let engine = shared.engine().await.map_err(Failure::logged)?;
    for (image, auth) in &images {
        engine.pull(image, auth.as_ref()).await.map_err(|e| {
            log("ERROR", &e);
            Failure::logged(e)
        })?;
        log("INFO", &format!("Pulled {image}"));
    }
    let scratch = engine::scratch_dir(&shared.workdir, &job.env_id);
    let target = Target {
        env_id: &job.env_id,
        deployment: job.deployment,
        app_dir: &app_dir,
        scratch_dir: &scratch,
    };
    let ports = engine.run(&plan, &target).await.map_err(|e| {
        log("ERROR", &e);
        Failure::logged(e)
    })?;
    let endpoint = entry_address(&plan, &ports);
    let health = check(shared, &plan, job, endpoint).await;
    if let Err(e) = health {
        log("ERROR", &e);
        return Err(Failure::logged(e));
    }
    log("INFO", "Instance deployment completed successfully");
    Ok(Running { ports, endpoint })
}

/// Registry credentials: the options' defaults, overridden by the bundle's auth file.
async fn credentials(shared: &Shared, plan: &RunPlan) -> Result<BTreeMap<String, Basic>, Failure> {
    let mut out: BTreeMap<String, Basic> = shared
        .options
        .registry_credentials
        .iter()
        .map(|c| {
            (
                c.host.clone(),
                Basic {
                    username: c.username.clone(),
                    password: c.password.clone(),
                },
            )
        })
        .collect();
    if let Some(auth) = &plan.auth {
        let text = bundle::fetch(&shared.s3, &auth.bucket, &auth.key)
            .await
            .map_err(|_| {
                Failure::visible(format!(
                    "Failed to download authentication credentials {} from {}",
                    auth.key, auth.bucket
                ))
            })?;
        let parsed =
            registry::parse_auth_file(&String::from_utf8_lossy(&text)).map_err(Failure::visible)?;
        out.extend(parsed);
    }
    Ok(out)
}

fn entry_address(plan: &RunPlan, ports: &[PortMapping]) -> Option<SocketAddr> {
    let entry = plan.entry.as_ref()?;
    ports
        .iter()
        .find(|p| p.container == entry.container && p.container_port == entry.container_port)
        .map(|p| p.address)
}

/// Essential containers keep running and the entry port answers the health path.
async fn check(
    shared: &Shared,
    plan: &RunPlan,
    job: &Job,
    endpoint: Option<SocketAddr>,
) -> Result<(), String> {
    let engine = shared.engine().await?;
    let timeout = shared.options.timings.health_timeout;
    // Give crashing containers a moment to show it before the probe can pass.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let dead = engine.stopped(plan, &job.env_id, job.deployment).await;
    if !dead.is_empty() {
        return Err(format!(
            "essential container(s) not running: {}",
            dead.join(", ")
        ));
    }
    match (endpoint, &plan.entry) {
        (Some(addr), _) => probe::until_healthy(addr, &job.health_path, timeout).await,
        (None, Some(entry)) => Err(format!(
            "container {} did not publish port {}",
            entry.container, entry.container_port
        )),
        // No published port: nothing can receive traffic, as a load balancer would find.
        (None, None) => Err("no container publishes a port for the health check".into()),
    }
}
