//! The Docker Engine, through bollard: connecting with API-version negotiation, building with a
//! streamed context, local image bookkeeping, and the containers, networks, volumes and logs of
//! running environments.

pub mod attach;
pub mod build;
pub mod build_proxy;
pub mod builder;
pub mod buildkit;
pub mod containers;
pub mod context;
pub mod endpoint;
pub mod host_options;
pub mod images;
pub mod labels;
pub mod logs;
pub mod networks;
pub mod push;
pub mod transport;
pub mod volumes;

use std::time::Duration;

use bollard::Docker;

use crate::exit::{Coded, ExitStatus};

/// How long to wait for the daemon to answer a ping before calling it unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Errors talking to the Docker Engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The daemon did not answer.
    #[error(
        "cannot reach the Docker Engine at {host}: {reason}. Start the daemon (e.g. `sudo \
         systemctl start docker`), or choose another with --context, DOCKER_HOST or \
         DOCKER_CONTEXT{hint}"
    )]
    Unreachable {
        /// Where we tried (DOCKER_HOST or the default socket).
        host: String,
        /// What went wrong.
        reason: String,
        /// A more specific fix, when one is known (starts with "; ").
        hint: String,
    },
    /// No endpoint could be resolved from the Docker configuration.
    #[error(transparent)]
    Endpoint(#[from] endpoint::EndpointError),
    /// Any other Engine API failure.
    #[error("Docker Engine error: {}", api_text(.0))]
    Api(#[from] bollard::errors::Error),
    /// Several networks share a name (left by concurrent runs before the environment lock) and
    /// the extra ones still have containers attached.
    #[error(
        "{count} networks are named {name} and the extra ones still have containers attached; \
         run `stevedore {env} down` to remove them all, then start again"
    )]
    DuplicateNetwork {
        /// The network name.
        name: String,
        /// How many share it.
        count: usize,
        /// The environment (for the hint).
        env: String,
    },
    /// A streaming answer (a pull's progress) stopped coming.
    #[error(
        "the Docker Engine at {host} sent nothing for {} while {what}: it is stalled, or so is \
         the registry behind it. Check the Engine (`docker info`) and the network, then run the \
         command again (`{IDLE_VARIABLE}` sets how long a silence is allowed)",
        crate::compose::format_duration(*.idle)
    )]
    Stalled {
        /// What it was doing, e.g. `pulling redis:7`.
        what: String,
        /// How long it was silent.
        idle: Duration,
        /// Where the Engine is.
        host: String,
    },
    /// `STEVEDORE_ENGINE_IDLE_TIMEOUT` is not a duration.
    #[error("{IDLE_VARIABLE}={value}: {problem}; write a duration such as 30s, 10m or 1h")]
    BadIdleTimeout {
        /// The value given.
        value: String,
        /// What is wrong with it.
        problem: String,
    },
}

impl Coded for EngineError {
    fn exit_status(&self) -> ExitStatus {
        match self {
            EngineError::Stalled { .. } => ExitStatus::TimedOut,
            EngineError::BadIdleTimeout { .. } => ExitStatus::InvalidInput,
            _ => ExitStatus::Engine,
        }
    }
}

/// The variable that sets how long a streaming Engine answer may stay silent.
pub const IDLE_VARIABLE: &str = "STEVEDORE_ENGINE_IDLE_TIMEOUT";

/// How long a streaming Engine answer may stay silent by default: a pull or push reports
/// progress far more often than this while bytes move.
pub const DEFAULT_STREAM_IDLE: Duration = Duration::from_secs(10 * 60);

/// How long a pull's or a push's progress stream may stay silent before it counts as stalled:
/// [`IDLE_VARIABLE`], else [`DEFAULT_STREAM_IDLE`]. (Builds are bounded by their deadline
/// instead: a long `RUN` step is silent and honest.)
pub fn stream_idle() -> Result<Duration, EngineError> {
    match std::env::var(IDLE_VARIABLE) {
        Ok(value) if !value.trim().is_empty() => match crate::compose::parse_duration(&value) {
            Ok(idle) if !idle.is_zero() => Ok(idle),
            Ok(_) => Err(EngineError::BadIdleTimeout {
                value,
                problem: "zero would call every stream stalled".into(),
            }),
            Err(problem) => Err(EngineError::BadIdleTimeout { value, problem }),
        },
        _ => Ok(DEFAULT_STREAM_IDLE),
    }
}

/// The next item of `stream`; [`EngineError::Stalled`] (saying it happened while `what`)
/// when none came within `idle`.
pub async fn next_within<S: futures_util::Stream + Unpin>(
    stream: &mut S,
    idle: Duration,
    what: impl FnOnce() -> String,
) -> Result<Option<S::Item>, EngineError> {
    use futures_util::StreamExt;
    tokio::time::timeout(idle, stream.next())
        .await
        .map_err(|_| EngineError::Stalled {
            what: what(),
            idle,
            host: docker_host(),
        })
}

/// An Engine API error in words; a request that got no answer says so and where.
fn api_text(err: &bollard::errors::Error) -> String {
    match err {
        bollard::errors::Error::RequestTimeoutError => format!(
            "no answer within {}s from {} (it accepts connections but does not answer: restart \
             it, or choose another with --context or DOCKER_HOST)",
            transport::REQUEST_TIMEOUT.as_secs(),
            docker_host()
        ),
        other => other.to_string(),
    }
}

/// The daemon's identity, from `/version`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EngineInfo {
    /// Where we connected.
    pub host: String,
    /// The engine version, e.g. `20.10.24+dfsg1`.
    pub version: String,
    /// The API version the daemon speaks (and we negotiated down to).
    pub api_version: String,
}

/// The Engine's list filter selecting what carries every `key=value` label of `labels`.
pub(crate) fn label_filter(
    labels: &[(String, String)],
) -> std::collections::HashMap<String, Vec<String>> {
    let filter: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    std::collections::HashMap::from([("label".to_owned(), filter)])
}

/// The endpoint in effect, for messages: its address, and the context and setting that chose it.
pub fn docker_host() -> String {
    match endpoint::resolve() {
        Ok(endpoint) => endpoint.describe(),
        Err(err) => format!("(unresolved: {err})"),
    }
}

/// Connect to the daemon chosen as the Docker CLI chooses it (`--context`, DOCKER_HOST,
/// DOCKER_CONTEXT, `docker context use`; see [`endpoint`]) and negotiate the API version, so
/// both old daemons (API 1.41) and new ones work.
pub async fn connect() -> Result<Docker, EngineError> {
    let endpoint = endpoint::resolve()?;
    let host = endpoint.describe();
    let hint = if endpoint.tls.is_none() && endpoint.host.starts_with("tcp://") {
        "; if that daemon expects TLS, set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to the \
         directory holding ca.pem, cert.pem and key.pem"
    } else {
        ""
    };
    let unreachable = |reason: String| EngineError::Unreachable {
        host: host.clone(),
        reason,
        hint: hint.to_owned(),
    };
    let docker = match transport::client(&endpoint) {
        Ok(docker) => docker,
        Err(transport::ClientError::Endpoint(err)) => return Err(err.into()),
        Err(transport::ClientError::Unreachable(reason)) => return Err(unreachable(reason)),
    }
    .with_request_modifier(registry_auth_as_base64url);
    let negotiated = tokio::time::timeout(CONNECT_TIMEOUT, docker.negotiate_version())
        .await
        .map_err(|_| unreachable(format!("no answer within {}s", CONNECT_TIMEOUT.as_secs())))?
        .map_err(|e| unreachable(error_chain(&e)))?;
    Ok(negotiated)
}

/// An error and its sources on one line (TLS failures hide the reason in a source).
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

/// bollard encodes `X-Registry-Auth`/`X-Registry-Config` with the standard base64 alphabet;
/// the daemon decodes base64url and silently ignores what it cannot decode, so a password
/// holding `~`, `?` or `>` at some offsets fails to authenticate (rust-deps.md §1.4). The two
/// alphabets differ only in `+`/`-` and `/`/`_`.
fn registry_auth_as_base64url(mut request: bollard::BollardRequest) -> bollard::BollardRequest {
    for name in ["x-registry-auth", "x-registry-config"] {
        let Some(value) = request.headers().get(name) else {
            continue;
        };
        let fixed: String = value
            .to_str()
            .unwrap_or_default()
            .chars()
            .map(|c| match c {
                '+' => '-',
                '/' => '_',
                other => other,
            })
            .collect();
        if let Ok(fixed) = http::HeaderValue::from_str(&fixed) {
            request.headers_mut().insert(name, fixed);
        }
    }
    request
}

/// Connect and read the daemon's version.
pub async fn info() -> Result<EngineInfo, EngineError> {
    let docker = connect().await?;
    let version = tokio::time::timeout(CONNECT_TIMEOUT, docker.version())
        .await
        .map_err(|_| EngineError::Unreachable {
            host: docker_host(),
            reason: "no answer to /version".into(),
            hint: String::new(),
        })??;
    Ok(EngineInfo {
        host: docker_host(),
        version: version.version.unwrap_or_else(|| "unknown".into()),
        api_version: version.api_version.unwrap_or_else(|| "unknown".into()),
    })
}

impl Coded for context::ContextError {
    fn exit_status(&self) -> ExitStatus {
        match self {
            // The daemon hung up while the context was sent: its side.
            context::ContextError::Write { .. } => ExitStatus::Engine,
            // A file that cannot be listed or read, or changed while sent: the project's side.
            context::ContextError::Walk(_)
            | context::ContextError::Read { .. }
            | context::ContextError::Changed { .. } => ExitStatus::InvalidInput,
        }
    }
}
