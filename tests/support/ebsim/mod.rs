//! An Elastic Beanstalk emulator for tests: the EB Query API on a loopback port, driven by the
//! real `aws-sdk-elasticbeanstalk` client through its endpoint URL.
//!
//! It keeps applications, versions and environments with EB's status/health state machine in
//! real time, emits EB's event messages and error texts (reference/eb-cli.md §4), and on a deploy
//! does what an instance would: fetches the bundle from S3, validates it, resolves every image in
//! the loopback registry, pulls and starts the containers through the Docker Engine, and probes
//! the app over HTTP before calling the environment Green.
//!
//! ```ignore
//! let s3 = S3Server::start()?;
//! let sim = EbSim::start(EbSimOptions::new(S3Access {
//!     endpoint_url: s3.endpoint_url(),
//!     access_key_id: s3::ACCESS_KEY_ID.into(),
//!     secret_access_key: s3::SECRET_ACCESS_KEY.into(),
//! }))?;
//! let eb = sim.client();               // the real SDK client, pointed at the emulator
//! eb.create_application().application_name("app").send().await?;
//! ```
//!
//! It runs on its own thread and runtime; dropping it stops the server and removes every
//! container and network it created (all labelled [`LABEL`]`=<id>`), the images it pulled and
//! its temporary directory.

#![allow(dead_code)]

mod api;
mod bundle;
mod deploy;
mod engine;
mod error;
mod http;
mod instance;
mod knobs;
mod plan;
mod probe;
mod query;
mod registry;
mod server;
mod sigv4;
mod state;
mod xml;

// The rig's shared accept loop lives with the S3 server, this module's sibling here and in
// `examples/ebsim.rs`.
use super::s3::accept;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use aws_sdk_elasticbeanstalk::config::{BehaviorVersion, Credentials, Region};
use tokio::sync::oneshot;

// The public API for tests and the example; not every user needs every name.
#[allow(unused_imports)]
pub use {
    error::ApiError,
    knobs::Knobs,
    plan::Platform,
    state::{EnvStatus, Environment, Event, Health, PortMapping, Severity, VersionStatus},
};

/// The Docker label on everything the emulator creates; its value is [`EbSim::id`].
pub const LABEL: &str = "org.stevedore.ebsim";

/// How the emulator reaches the S3 server that holds source bundles.
#[derive(Debug, Clone)]
pub struct S3Access {
    /// `http://127.0.0.1:<port>`.
    pub endpoint_url: String,
    /// Access key.
    pub access_key_id: String,
    /// Secret key.
    pub secret_access_key: String,
}

/// Credentials the "instance" has for a registry without an `Authentication` file (as an
/// instance profile has for ECR).
#[derive(Debug, Clone)]
pub struct RegistryCredentials {
    /// `127.0.0.1:<port>`.
    pub host: String,
    /// User.
    pub username: String,
    /// Password.
    pub password: String,
}

/// How long things take. Tests use short durations; the defaults are short too.
#[derive(Debug, Clone)]
pub struct Timings {
    /// The pause between consecutive steps (and their events) of an operation.
    pub step: Duration,
    /// How long `Process=true` keeps a version PROCESSING.
    pub process: Duration,
    /// How long CreateEnvironment stays Launching.
    pub launch: Duration,
    /// How long the health probe keeps trying before the deploy fails.
    pub health_timeout: Duration,
    /// Extra time every deploy takes ("slow deploys").
    pub deploy_delay: Duration,
}

impl Default for Timings {
    fn default() -> Timings {
        Timings {
            step: Duration::from_millis(100),
            process: Duration::from_millis(300),
            launch: Duration::from_millis(300),
            health_timeout: Duration::from_secs(20),
            deploy_delay: Duration::ZERO,
        }
    }
}

/// Everything `EbSim::start` needs.
#[derive(Debug, Clone)]
pub struct EbSimOptions {
    /// The S3 server holding bundles (CreateStorageLocation creates its bucket there).
    pub s3: S3Access,
    /// Default registry credentials, per registry host.
    pub registry_credentials: Vec<RegistryCredentials>,
    /// Region in ARNs, bucket names and the CNAME.
    pub region: String,
    /// Account id in ARNs and the storage bucket name.
    pub account_id: String,
    /// When set, requests signed with another access key get `InvalidClientTokenId` and
    /// unsigned ones `MissingAuthenticationToken`.
    pub access_key_id: Option<String>,
    /// With `access_key_id`: the secret; signatures are then verified (`SignatureDoesNotMatch`).
    pub secret_access_key: Option<String>,
    /// Durations.
    pub timings: Timings,
    /// The default health-check path (an environment's `Application Healthcheck URL` overrides it).
    pub health_path: String,
    /// The account's application-version quota.
    pub version_quota: usize,
    /// Start containers through the Docker Engine (false: validate and resolve only).
    pub run_containers: bool,
}

impl EbSimOptions {
    /// Defaults around an S3 server: us-east-1, account 123456789012, quota 1000, health `/`,
    /// containers run.
    pub fn new(s3: S3Access) -> EbSimOptions {
        EbSimOptions {
            s3,
            registry_credentials: Vec::new(),
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            access_key_id: None,
            secret_access_key: None,
            timings: Timings::default(),
            health_path: "/".into(),
            version_quota: 1000,
            run_containers: true,
        }
    }
}

/// Counters of what the emulator answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// API requests received.
    pub calls: u64,
    /// Requests answered with `Throttling`.
    pub throttled: u64,
    /// Requests answered with a 5xx by the knob.
    pub failed: u64,
}

/// State shared by the server, the deploy tasks and the test's handle.
pub(crate) struct Shared {
    pub id: String,
    pub options: EbSimOptions,
    pub state: Mutex<State>,
    pub knobs: Mutex<Knobs>,
    pub workdir: PathBuf,
    pub s3: aws_sdk_s3::Client,
    pub engine: tokio::sync::OnceCell<Result<engine::Engine, String>>,
    pub tasks: Mutex<Vec<(String, tokio::task::AbortHandle)>>,
    pub calls: AtomicU64,
    pub throttled: AtomicU64,
    pub failed: AtomicU64,
}

use state::State;

/// Lock a mutex, recovering from poisoning (a panicking test must not wedge the emulator).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    pub(crate) fn knobs(&self) -> MutexGuard<'_, Knobs> {
        lock(&self.knobs)
    }

    /// The Docker Engine, connected on first use.
    pub(crate) async fn engine(&self) -> Result<&engine::Engine, String> {
        self.engine
            .get_or_init(|| engine::Engine::connect(self.id.clone()))
            .await
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// A running emulator. Dropping it stops the server and removes what it created.
pub struct EbSim {
    shared: Arc<Shared>,
    addr: SocketAddr,
    runtime: tokio::runtime::Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    workdir: Option<tempfile::TempDir>,
}

impl EbSim {
    /// Start on a free port of 127.0.0.1.
    pub fn start(options: EbSimOptions) -> std::io::Result<EbSim> {
        let workdir = tempfile::Builder::new()
            .prefix("stevedore-ebsim-")
            .tempdir()?;
        let id = workdir
            .path()
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("stevedore-ebsim-"))
            .unwrap_or("x")
            .to_ascii_lowercase();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("ebsim")
            .enable_all()
            .build()?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            id: format!("{}-{id}", std::process::id()),
            s3: s3_client(&options.s3, &options.region),
            options,
            state: Mutex::new(State::default()),
            knobs: Mutex::new(Knobs::default()),
            workdir: workdir.path().to_path_buf(),
            engine: tokio::sync::OnceCell::new(),
            tasks: Mutex::new(Vec::new()),
            calls: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        });
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel();
        let serving = shared.clone();
        let thread = std::thread::Builder::new()
            .name("ebsim-main".into())
            .spawn(move || {
                runtime.block_on(async move {
                    if let Ok(listener) = tokio::net::TcpListener::from_std(listener) {
                        server::serve(listener, serving.clone(), stopped).await;
                    }
                    for (_, task) in lock(&serving.tasks).drain(..) {
                        task.abort();
                    }
                    if let Some(Ok(engine)) = serving.engine.get() {
                        engine.remove_everything().await;
                    }
                });
                runtime.shutdown_timeout(Duration::from_secs(5));
            })?;
        Ok(EbSim {
            shared,
            addr,
            runtime: handle,
            stop: Some(stop),
            thread: Some(thread),
            workdir: Some(workdir),
        })
    }

    /// `http://127.0.0.1:<port>`, for the SDK's `endpoint_url`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The value of [`LABEL`] on this emulator's containers and networks.
    pub fn id(&self) -> &str {
        &self.shared.id
    }

    /// The emulator's temporary directory (extracted bundles live below it).
    pub fn workdir(&self) -> PathBuf {
        self.shared.workdir.clone()
    }

    /// An SDK config builder for this emulator: static credentials (the configured access key,
    /// or a test one), its region, its endpoint, the SDK's standard retry.
    pub fn sdk_config(&self) -> aws_sdk_elasticbeanstalk::config::Builder {
        aws_sdk_elasticbeanstalk::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(self.shared.options.region.clone()))
            .credentials_provider(self.credentials())
            .endpoint_url(self.endpoint_url())
    }

    /// The real SDK client for this emulator (see [`EbSim::sdk_config`]).
    pub fn client(&self) -> aws_sdk_elasticbeanstalk::Client {
        aws_sdk_elasticbeanstalk::Client::from_conf(self.sdk_config().build())
    }

    /// Create application `app` and its environments (`(name, solution stack)`) through the
    /// SDK, as an operator would once, then wait until every one is `Ready` (the emulator
    /// launches them in a few steps).
    pub async fn create_ready(
        &self,
        app: &str,
        environments: &[(&str, &str)],
    ) -> Result<(), Box<dyn std::error::Error>> {
        let eb = self.client();
        eb.create_application().application_name(app).send().await?;
        for (name, stack) in environments {
            eb.create_environment()
                .application_name(app)
                .environment_name(*name)
                .solution_stack_name(*stack)
                .send()
                .await?;
        }
        for _ in 0..600 {
            let ready = environments.iter().all(|(name, _)| {
                self.environment(name)
                    .is_some_and(|e| e.status == EnvStatus::Ready)
            });
            if ready {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Err(format!("{environments:?} did not all become Ready").into())
    }

    /// The credentials [`EbSim::client`] signs with: the configured access key and secret, or
    /// test ones.
    pub fn credentials(&self) -> aws_sdk_elasticbeanstalk::config::SharedCredentialsProvider {
        let options = &self.shared.options;
        aws_sdk_elasticbeanstalk::config::SharedCredentialsProvider::new(Credentials::new(
            options
                .access_key_id
                .clone()
                .unwrap_or_else(|| "AKIASTEVEDORETEST000".into()),
            options
                .secret_access_key
                .clone()
                .unwrap_or_else(|| "test-secret".into()),
            None,
            None,
            "ebsim",
        ))
    }

    /// A real STS client for this emulator (it answers `GetCallerIdentity`).
    pub fn sts_client(&self) -> aws_sdk_sts::Client {
        let config = aws_sdk_sts::Config::builder()
            .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
            .region(aws_sdk_sts::config::Region::new(
                self.shared.options.region.clone(),
            ))
            .credentials_provider(self.credentials())
            .endpoint_url(self.endpoint_url())
            .build();
        aws_sdk_sts::Client::from_conf(config)
    }

    /// Every event so far, oldest first.
    pub fn events(&self) -> Vec<Event> {
        self.shared.state().events.clone()
    }

    /// A snapshot of the live environment `name`.
    pub fn environment(&self, name: &str) -> Option<Environment> {
        self.shared.state().env_by_name(name).cloned()
    }

    /// Where environment `name` serves its entry port (the page a browser would get).
    pub fn endpoint(&self, name: &str) -> Option<SocketAddr> {
        self.environment(name).and_then(|e| e.endpoint)
    }

    /// The loopback ports of environment `name`'s running containers.
    pub fn ports(&self, name: &str) -> Vec<PortMapping> {
        self.environment(name).map(|e| e.ports).unwrap_or_default()
    }

    /// The status of version `label` of `app`.
    pub fn version_status(&self, app: &str, label: &str) -> Option<VersionStatus> {
        self.shared
            .state()
            .versions
            .get(&(app.to_owned(), label.to_owned()))
            .map(|v| v.status)
    }

    /// Request counters.
    pub fn stats(&self) -> Stats {
        Stats {
            calls: self.shared.calls.load(Ordering::Relaxed),
            throttled: self.shared.throttled.load(Ordering::Relaxed),
            failed: self.shared.failed.load(Ordering::Relaxed),
        }
    }

    /// Change the knobs (see [`Knobs`]).
    pub fn knobs(&self, change: impl FnOnce(&mut Knobs)) {
        change(&mut self.shared.knobs());
    }

    /// Keep environment `name` `Updating` for `duration` (as if another operation ran), so
    /// UpdateEnvironment meets "Must be Ready". False if there is no such Ready environment.
    pub fn busy_for(&self, name: &str, duration: Duration) -> bool {
        let _guard = self.runtime.enter();
        deploy::hold_busy(&self.shared, name, duration)
    }
}

/// The emulator's own S3 client (bundles, auth files, tail logs).
fn s3_client(access: &S3Access, region: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new(region.to_owned()))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            access.access_key_id.clone(),
            access.secret_access_key.clone(),
            None,
            None,
            "ebsim",
        ))
        .endpoint_url(&access.endpoint_url)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

impl Drop for EbSim {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        // Only now: bind mounts of the removed containers pointed into it.
        drop(self.workdir.take());
    }
}
