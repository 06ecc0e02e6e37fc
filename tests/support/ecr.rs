//! An emulated Amazon ECR API on a loopback port, spoken to by the real `aws-sdk-ecr` client
//! (AWS JSON 1.1 over HTTP, SigV4-signed with the rig's static test key): `GetAuthorizationToken`,
//! `DescribeRepositories` and `CreateRepository`, with ECR's error codes.
//!
//! The tokens it hands out are `AWS:<password>` for a real registry of the rig started with
//! htpasswd auth, so a push with them goes through the daemon and the registry as against ECR.
//! The registry's ECR-shaped name, [`ECR_HOST`], is mapped to 127.0.0.1 in `/etc/hosts`
//! (tests/setup.sh); the daemon then treats it as an insecure loopback registry and pushes
//! over plain HTTP, as it would to `127.0.0.1`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::s3::{ACCESS_KEY_ID, SECRET_ACCESS_KEY};

/// The ECR-shaped registry name the rig maps to 127.0.0.1 (tests/setup.sh adds the line).
pub const ECR_HOST: &str = "000000000000.dkr.ecr.us-east-1.amazonaws.com";
/// The account of [`ECR_HOST`].
pub const ACCOUNT: &str = "000000000000";
/// The region of [`ECR_HOST`].
pub const REGION: &str = "us-east-1";

/// Whether [`ECR_HOST`] resolves to loopback here (and so for the daemon on this machine).
pub fn host_mapped() -> bool {
    use std::net::ToSocketAddrs;
    let mapped = (ECR_HOST, 443)
        .to_socket_addrs()
        .is_ok_and(|mut a| a.all(|a| a.ip().is_loopback()));
    mapped
        || super::unavailable(
            "the ECR host mapping",
            &format!("add `127.0.0.1 {ECR_HOST}` to /etc/hosts (tests/setup.sh does)"),
        )
}

/// What the emulator holds and counts.
#[derive(Debug, Default)]
struct State {
    /// Repository name → creation time (epoch seconds).
    repositories: BTreeMap<String, f64>,
    /// Calls per operation.
    calls: BTreeMap<String, usize>,
    /// Requests refused for their signature.
    unsigned: usize,
}

/// A running ECR emulator; stopped on drop.
pub struct EcrServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// How the emulator answers.
#[derive(Debug, Clone)]
pub struct EcrConfig {
    /// The registry host (with its port) in `proxyEndpoint` and repository URIs.
    pub registry: String,
    /// The password of user `AWS` on that registry.
    pub password: String,
    /// How long a token lives (ECR: 12 hours).
    pub token_lifetime: Duration,
}

impl EcrServer {
    /// Bind a free loopback port and serve.
    pub fn start(config: EcrConfig) -> std::io::Result<EcrServer> {
        let state = Arc::new(Mutex::new(State::default()));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let shared = state.clone();
        let thread = std::thread::Builder::new()
            .name("ecr-server".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = TcpListener::from_std(listener) else {
                        return;
                    };
                    super::s3::accept::serve_http1(listener, stopped, move || {
                        let (state, config) = (shared.clone(), config.clone());
                        hyper::service::service_fn(move |request| {
                            let (state, config) = (state.clone(), config.clone());
                            async move {
                                Ok::<_, std::convert::Infallible>(
                                    answer(request, &state, &config).await,
                                )
                            }
                        })
                    })
                    .await;
                });
            })?;
        Ok(EcrServer {
            addr,
            state,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL_ECR`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many times `operation` was called.
    pub fn calls(&self, operation: &str) -> usize {
        let state = self.state.lock().expect("ecr state");
        state.calls.get(operation).copied().unwrap_or(0)
    }

    /// The repositories that exist.
    pub fn repositories(&self) -> Vec<String> {
        let state = self.state.lock().expect("ecr state");
        state.repositories.keys().cloned().collect()
    }

    /// Create `name` as `aws ecr create-repository` would have.
    pub fn create(&self, name: &str) {
        let mut state = self.state.lock().expect("ecr state");
        state.repositories.insert(name.to_owned(), now());
    }

    /// Requests refused because they were not signed with the rig's key.
    pub fn unsigned(&self) -> usize {
        self.state.lock().expect("ecr state").unsigned
    }

    /// The environment that points a process's AWS SDK at this emulator, with the rig's key.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL_ECR", self.endpoint_url()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY.to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ]
    }
}

impl Drop for EcrServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

type Answer = Response<Full<Bytes>>;

async fn answer(
    request: Request<hyper::body::Incoming>,
    state: &Mutex<State>,
    config: &EcrConfig,
) -> Answer {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let target = header("x-amz-target");
    let authorization = header("authorization");
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return error(400, "SerializationException", "unreadable body"),
    };
    // The SDK signs with SigV4 for service `ecr`; anything else is what AWS would refuse.
    let signed = authorization.starts_with("AWS4-HMAC-SHA256 ")
        && authorization.contains(&format!("Credential={ACCESS_KEY_ID}/"))
        && authorization.contains("/ecr/aws4_request");
    let mut state = state.lock().expect("ecr state");
    if !signed {
        state.unsigned += 1;
        return error(
            400,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        );
    }
    let Some(operation) = target.strip_prefix("AmazonEC2ContainerRegistry_V20150921.") else {
        return error(400, "UnknownOperationException", &target);
    };
    *state.calls.entry(operation.to_owned()).or_default() += 1;
    let input: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    match operation {
        "GetAuthorizationToken" => {
            use base64::Engine;
            let token = base64::engine::general_purpose::STANDARD
                .encode(format!("AWS:{}", config.password));
            ok(serde_json::json!({"authorizationData": [{
                "authorizationToken": token,
                "expiresAt": now() + config.token_lifetime.as_secs_f64(),
                "proxyEndpoint": format!("https://{}", config.registry),
            }]}))
        }
        "DescribeRepositories" => {
            let wanted: Vec<String> = input["repositoryNames"]
                .as_array()
                .map(|names| {
                    names
                        .iter()
                        .filter_map(|n| n.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_else(|| state.repositories.keys().cloned().collect());
            if let Some(missing) = wanted.iter().find(|n| !state.repositories.contains_key(*n)) {
                return error(
                    400,
                    "RepositoryNotFoundException",
                    &format!(
                        "The repository with name '{missing}' does not exist in the registry with id '{ACCOUNT}'"
                    ),
                );
            }
            let repositories: Vec<_> = wanted
                .iter()
                .map(|n| repository(config, n, state.repositories[n]))
                .collect();
            ok(serde_json::json!({ "repositories": repositories }))
        }
        "CreateRepository" => {
            let Some(name) = input["repositoryName"].as_str() else {
                return error(
                    400,
                    "InvalidParameterException",
                    "repositoryName is required",
                );
            };
            if state.repositories.contains_key(name) {
                return error(
                    400,
                    "RepositoryAlreadyExistsException",
                    &format!(
                        "The repository with name '{name}' already exists in the registry with id '{ACCOUNT}'"
                    ),
                );
            }
            let created = now();
            state.repositories.insert(name.to_owned(), created);
            ok(serde_json::json!({ "repository": repository(config, name, created) }))
        }
        other => error(
            400,
            "UnknownOperationException",
            &format!("{other} is not emulated"),
        ),
    }
}

fn repository(config: &EcrConfig, name: &str, created: f64) -> serde_json::Value {
    serde_json::json!({
        "repositoryArn": format!("arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{name}"),
        "registryId": ACCOUNT,
        "repositoryName": name,
        "repositoryUri": format!("{}/{name}", config.registry),
        "createdAt": created,
        "imageTagMutability": "MUTABLE",
    })
}

fn ok(body: serde_json::Value) -> Answer {
    respond(200, body)
}

fn error(status: u16, code: &str, message: &str) -> Answer {
    respond(
        status,
        serde_json::json!({ "__type": code, "message": message }),
    )
}

fn respond(status: u16, body: serde_json::Value) -> Answer {
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amzn-requestid", "00000000-0000-0000-0000-000000000000")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("response")
}
