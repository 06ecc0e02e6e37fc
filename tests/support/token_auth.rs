//! A Docker registry token server on a loopback port, for a registry configured with
//! `auth: token:` (the Bearer flow of Docker Hub, GHCR, Harbor and others).
//!
//! Clients ask `GET /token?service=…&scope=repository:<name>:pull,push` with basic auth; the
//! server checks the user and password and answers a JWT (RS256) granting the scopes asked for,
//! signed with a key whose self-signed certificate is in the registry's `rootcertbundle` and in
//! the token's `x5c` header, which is how distribution 2.8 verifies it. The key and certificate
//! come from the `openssl` CLI, which also signs (`openssl dgst -sha256 -sign`).

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::SystemTime;

use base64::Engine;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The `service` (token audience) the registry is configured with.
pub const SERVICE: &str = "stevedore-test-registry";
/// The token issuer the registry trusts.
pub const ISSUER: &str = "stevedore-test-token-issuer";

/// A running token server; stopped, and its key removed, on drop.
pub struct TokenServer {
    addr: SocketAddr,
    dir: tempfile::TempDir,
    issued: Arc<AtomicUsize>,
    refused: Arc<AtomicUsize>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// What signing needs, shared with the serving thread.
#[derive(Clone)]
struct Signer {
    key: PathBuf,
    x5c: String,
    user: String,
    password: String,
}

impl TokenServer {
    /// Make a key and certificate, bind a free port and serve tokens to `user`/`password`, or
    /// `None` (skipped loudly; a failure under CI) without the `openssl` CLI.
    pub fn start(user: &str, password: &str) -> Option<TokenServer> {
        let dir = tempfile::Builder::new()
            .prefix("stevedore-token-")
            .tempdir()
            .expect("token dir");
        let made = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", "/CN=stevedore-test-token-issuer"])
            .arg("-keyout")
            .arg(dir.path().join("key.pem"))
            .arg("-out")
            .arg(dir.path().join("cert.pem"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !made.is_ok_and(|s| s.success()) {
            super::unavailable("openssl", "install Debian's openssl package");
            return None;
        }
        let pem = std::fs::read_to_string(dir.path().join("cert.pem")).expect("cert.pem");
        // The PEM body is the base64 of the DER certificate, which is what x5c holds.
        let x5c: String = pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .concat();
        let signer = Signer {
            key: dir.path().join("key.pem"),
            x5c,
            user: user.to_owned(),
            password: password.to_owned(),
        };
        let issued = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(AtomicUsize::new(0));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let counts = (issued.clone(), refused.clone());
        let thread = std::thread::Builder::new()
            .name("token-server".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = TcpListener::from_std(listener) else {
                        return;
                    };
                    super::s3::accept::serve_http1(listener, stopped, move || {
                        let (signer, counts) = (signer.clone(), counts.clone());
                        hyper::service::service_fn(move |request| {
                            let answer = answer(&request, &signer, &counts);
                            async move { Ok::<_, std::convert::Infallible>(answer) }
                        })
                    })
                    .await;
                });
            })
            .expect("token server thread");
        Some(TokenServer {
            addr,
            dir,
            issued,
            refused,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:<port>/token`, the registry's `realm`.
    pub fn realm(&self) -> String {
        format!("http://{}/token", self.addr)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The certificate the registry trusts (`rootcertbundle`).
    pub fn certificate(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// Tokens handed out so far.
    pub fn issued(&self) -> usize {
        self.issued.load(Ordering::SeqCst)
    }

    /// Token requests refused (no or wrong credentials).
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn answer(
    request: &Request<hyper::body::Incoming>,
    signer: &Signer,
    (issued, refused): &(Arc<AtomicUsize>, Arc<AtomicUsize>),
) -> Response<Full<Bytes>> {
    let respond = |status: u16, body: String| {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .expect("response")
    };
    if request.uri().path() != "/token" {
        return respond(404, "{}".into());
    }
    let expected = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", signer.user, signer.password));
    let authorized = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .is_some_and(|given| given.trim() == expected);
    if !authorized {
        refused.fetch_add(1, Ordering::SeqCst);
        return respond(
            401,
            r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#.into(),
        );
    }
    let mut service = String::new();
    let mut access = Vec::new();
    for (key, value) in form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "service" => service = value.into_owned(),
            "scope" => {
                // repository:<name>:<actions>; the name may itself hold a port's colon.
                let mut parts = value.rsplitn(2, ':');
                let (Some(actions), Some(rest)) = (parts.next(), parts.next()) else {
                    continue;
                };
                let Some((kind, name)) = rest.split_once(':') else {
                    continue;
                };
                access.push(serde_json::json!({
                    "type": kind,
                    "name": name,
                    "actions": actions.split(',').collect::<Vec<_>>(),
                }));
            }
            _ => {}
        }
    }
    if service != SERVICE {
        refused.fetch_add(1, Ordering::SeqCst);
        return respond(
            400,
            format!(r#"{{"errors":[{{"message":"unknown service {service}"}}]}}"#),
        );
    }
    let token = sign(signer, &access);
    issued.fetch_add(1, Ordering::SeqCst);
    respond(
        200,
        serde_json::json!({"token": token, "access_token": token, "expires_in": 300}).to_string(),
    )
}

/// A compact JWS: base64url(header).base64url(claims).base64url(RS256 signature).
fn sign(signer: &Signer, access: &[serde_json::Value]) -> String {
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [signer.x5c]});
    let claims = serde_json::json!({
        "iss": ISSUER,
        "sub": signer.user,
        "aud": SERVICE,
        "exp": now + 300,
        "nbf": now - 10,
        "iat": now,
        "jti": format!("{now}-{}", std::process::id()),
        "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        url.encode(header.to_string()),
        url.encode(claims.to_string())
    );
    let signature = openssl_sign(&signer.key, signing_input.as_bytes());
    format!("{signing_input}.{}", url.encode(signature))
}

/// RSASSA-PKCS1-v1_5 with SHA-256 (JWS `RS256`).
fn openssl_sign(key: &Path, data: &[u8]) -> Vec<u8> {
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-binary", "-sign"])
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl dgst");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(data)
        .expect("write to openssl");
    let out = child.wait_with_output().expect("openssl dgst");
    assert!(out.status.success(), "openssl dgst failed");
    out.stdout
}
