//! The emulator's model: applications, versions, environments and events, as EB keeps them.
//! Held behind one mutex that is never kept across an `.await`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_elasticbeanstalk::primitives::DateTime;

use super::plan::Platform;

/// Milliseconds since the epoch, now (EB reports event times to the millisecond).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// `len` random lower-case hex digits, for ids (`e-…`, `i-…`, request ids).
pub fn random_hex(len: usize) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::new();
    while out.len() < len {
        // RandomState is seeded randomly per instance: enough entropy for test ids, no crate.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_i64(now_ms());
        out.push_str(&format!("{:016x}", hasher.finish()));
    }
    out.truncate(len);
    out
}

/// A millisecond timestamp as the SDK's `DateTime`.
pub fn date(ms: i64) -> DateTime {
    DateTime::from_millis(ms)
}

/// An application.
#[derive(Debug, Clone)]
pub struct Application {
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Creation time (ms).
    pub created: i64,
    /// The version lifecycle policy (UpdateApplicationResourceLifecycle).
    pub lifecycle: Option<Lifecycle>,
}

/// An application's version lifecycle: rules are `(limit, delete the S3 bundle too)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lifecycle {
    /// The role EB assumes to delete versions.
    pub service_role: Option<String>,
    /// Keep at most this many versions.
    pub max_count: Option<(i64, bool)>,
    /// Delete versions older than this many days.
    pub max_age_days: Option<(i64, bool)>,
}

/// `ApplicationVersionDescription.Status`; upper-case on the wire, as EB sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionStatus {
    /// Created without processing.
    Unprocessed,
    /// `Process=true`, being checked.
    Processing,
    /// Checked.
    Processed,
    /// The check failed.
    Failed,
}

impl VersionStatus {
    /// The wire value.
    pub fn wire(self) -> &'static str {
        match self {
            VersionStatus::Unprocessed => "UNPROCESSED",
            VersionStatus::Processing => "PROCESSING",
            VersionStatus::Processed => "PROCESSED",
            VersionStatus::Failed => "FAILED",
        }
    }
}

/// An application version.
#[derive(Debug, Clone)]
pub struct AppVersion {
    /// Application.
    pub app: String,
    /// Label.
    pub label: String,
    /// Description.
    pub description: Option<String>,
    /// Source bundle bucket.
    pub bucket: Option<String>,
    /// Source bundle key.
    pub key: Option<String>,
    /// Status.
    pub status: VersionStatus,
    /// Creation time (ms).
    pub created: i64,
    /// Last update (ms).
    pub updated: i64,
}

/// `EnvironmentDescription.Status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvStatus {
    /// Being created.
    Launching,
    /// An operation is running.
    Updating,
    /// Idle: the only state that accepts UpdateEnvironment.
    Ready,
    /// An update is being aborted.
    Aborting,
    /// Being terminated.
    Terminating,
    /// Gone.
    Terminated,
}

impl EnvStatus {
    /// The wire value.
    pub fn wire(self) -> &'static str {
        match self {
            EnvStatus::Launching => "Launching",
            EnvStatus::Updating => "Updating",
            EnvStatus::Ready => "Ready",
            EnvStatus::Aborting => "Aborting",
            EnvStatus::Terminating => "Terminating",
            EnvStatus::Terminated => "Terminated",
        }
    }
}

/// Basic health colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Serving.
    Green,
    /// Degraded.
    Yellow,
    /// Failing.
    Red,
    /// Unknown, or checks suspended during an operation.
    Grey,
}

impl Health {
    /// The wire value.
    pub fn wire(self) -> &'static str {
        match self {
            Health::Green => "Green",
            Health::Yellow => "Yellow",
            Health::Red => "Red",
            Health::Grey => "Grey",
        }
    }

    /// The enhanced-health status that goes with the colour.
    pub fn status(self, env: EnvStatus) -> &'static str {
        match (self, env) {
            (_, EnvStatus::Launching) => "Pending",
            (Health::Grey, EnvStatus::Updating) => "Info",
            (Health::Green, _) => "Ok",
            (Health::Yellow, _) => "Warning",
            (Health::Red, _) => "Severe",
            (Health::Grey, _) => "NoData",
        }
    }
}

/// A host port the emulator published for a container, on loopback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMapping {
    /// Container (v2 name, compose service, `app` for v1).
    pub container: String,
    /// The container port.
    pub container_port: u16,
    /// The host port the bundle asked for (80 for the v1 proxy).
    pub requested_host_port: Option<u16>,
    /// Where it is reachable.
    pub address: SocketAddr,
}

/// An environment.
#[derive(Debug, Clone)]
pub struct Environment {
    /// `e-xxxxxxxxxx`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Application.
    pub app: String,
    /// The deployed version (None: the sample application).
    pub version_label: Option<String>,
    /// Solution stack.
    pub solution_stack: String,
    /// Platform the stack selects.
    pub platform: Platform,
    /// Status.
    pub status: EnvStatus,
    /// Health colour.
    pub health: Health,
    /// Why health is not Green.
    pub causes: Vec<String>,
    /// Whether `AbortEnvironmentUpdate` applies now.
    pub abortable: bool,
    /// Creation time (ms).
    pub created: i64,
    /// Last update (ms).
    pub updated: i64,
    /// `<prefix>.<region>.elasticbeanstalk.com`.
    pub cname: String,
    /// The fake instance id events name.
    pub instance_id: String,
    /// Option settings, by `(namespace, option)`.
    pub options: BTreeMap<OptionKey, String>,
    /// Loopback ports of the running deployment.
    pub ports: Vec<PortMapping>,
    /// The entry port (what a browser or load balancer would hit).
    pub endpoint: Option<SocketAddr>,
    /// The running deployment's number (containers are labelled with it).
    pub deployment: Option<u64>,
    /// `eb-engine.log`: what the "instance" did, for tail logs.
    pub engine_log: Vec<String>,
    /// Tail-log bundles made by RequestEnvironmentInfo: `(time ms, S3 key)`.
    pub tail_logs: Vec<(i64, String)>,
    /// Tags given at creation.
    pub tags: Vec<(String, String)>,
}

/// An option setting's `(namespace, option name)`.
pub type OptionKey = (String, String);

/// The namespace of environment properties.
pub const ENV_NAMESPACE: &str = "aws:elasticbeanstalk:application:environment";
/// The namespace/option of the health-check URL.
pub const HEALTH_URL_OPTION: (&str, &str) = (
    "aws:elasticbeanstalk:application",
    "Application Healthcheck URL",
);

impl Environment {
    /// Environment properties, in name order.
    pub fn properties(&self) -> Vec<(String, String)> {
        self.options
            .iter()
            .filter(|((ns, _), _)| ns == ENV_NAMESPACE)
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// Event severity, lowest first (the `Severity` filter means "this or higher").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// TRACE.
    Trace,
    /// DEBUG.
    Debug,
    /// INFO.
    Info,
    /// WARN.
    Warn,
    /// ERROR.
    Error,
    /// FATAL.
    Fatal,
}

impl Severity {
    /// The wire value.
    pub fn wire(self) -> &'static str {
        match self {
            Severity::Trace => "TRACE",
            Severity::Debug => "DEBUG",
            Severity::Info => "INFO",
            Severity::Warn => "WARN",
            Severity::Error => "ERROR",
            Severity::Fatal => "FATAL",
        }
    }

    /// Parse a wire value (exact, upper-case, as the SDK sends it).
    pub fn parse(text: &str) -> Option<Severity> {
        [
            Severity::Trace,
            Severity::Debug,
            Severity::Info,
            Severity::Warn,
            Severity::Error,
            Severity::Fatal,
        ]
        .into_iter()
        .find(|s| s.wire() == text)
    }
}

/// One event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Order of emission (ties in time are broken by it).
    pub seq: u64,
    /// Time (ms).
    pub time: i64,
    /// Severity.
    pub severity: Severity,
    /// Message.
    pub message: String,
    /// Application.
    pub app: String,
    /// Environment name, for environment events.
    pub env: Option<String>,
    /// Version label, when the event concerns one.
    pub version: Option<String>,
    /// The request that started the operation.
    pub request_id: Option<String>,
}

/// Everything the emulator knows.
#[derive(Debug, Default)]
pub struct State {
    /// Applications by name.
    pub applications: BTreeMap<String, Application>,
    /// Versions by `(application, label)`.
    pub versions: BTreeMap<(String, String), AppVersion>,
    /// Environments in creation order.
    pub environments: Vec<Environment>,
    /// Events, oldest first.
    pub events: Vec<Event>,
    /// The bucket CreateStorageLocation made, once it has.
    pub storage_bucket: Option<String>,
    next_seq: u64,
    next_deployment: u64,
}

impl State {
    /// Record an event.
    pub fn event(
        &mut self,
        severity: Severity,
        message: impl Into<String>,
        app: &str,
        env: Option<&str>,
        version: Option<&str>,
        request_id: Option<&str>,
    ) {
        self.next_seq += 1;
        self.events.push(Event {
            seq: self.next_seq,
            time: now_ms(),
            severity,
            message: message.into(),
            app: app.to_owned(),
            env: env.map(str::to_owned),
            version: version.map(str::to_owned),
            request_id: request_id.map(str::to_owned),
        });
    }

    /// A live (not terminated) environment by name.
    pub fn env_by_name(&self, name: &str) -> Option<&Environment> {
        self.environments
            .iter()
            .find(|e| e.name == name && e.status != EnvStatus::Terminated)
    }

    /// A live environment by id, mutably.
    pub fn env_mut(&mut self, id: &str) -> Option<&mut Environment> {
        self.environments.iter_mut().find(|e| e.id == id)
    }

    /// A new deployment number.
    pub fn next_deployment(&mut self) -> u64 {
        self.next_deployment += 1;
        self.next_deployment
    }
}
