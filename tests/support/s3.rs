//! A real S3-protocol server on a loopback port: `s3s-fs` (objects as files in a temporary
//! directory) behind hyper, reached by the real `aws-sdk-s3` client over HTTP with SigV4 checked.
//!
//! `s3s-fs` ignores S3's conditional writes, which the deploy lock relies on, so a thin layer in
//! front of it implements them as S3 does: `PutObject` with `If-None-Match: *` fails with `412
//! PreconditionFailed` when the key exists, `PutObject`/`DeleteObject` with `If-Match: <etag>`
//! fail with 412 when the object changed (404 `NoSuchKey` when it is gone). Conditional requests
//! are checked and written one at a time, so exactly one of two racing writers wins.
//!
//! It runs on its own thread and runtime, so it works the same from sync and async tests and
//! its `Drop` can stop it without an async context.
//!
//! ```ignore
//! let s3 = S3Server::start()?;
//! let client = s3.client();
//! client.create_bucket().bucket("b").send().await?;
//! ```

// Shared by the tests and `examples/ebsim.rs`; each uses part of it.
#![allow(dead_code)]

#[path = "accept.rs"]
pub mod accept;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The access key the server accepts (static test credentials, never real ones).
pub const ACCESS_KEY_ID: &str = "AKIASTEVEDORETEST000";
/// The secret that goes with [`ACCESS_KEY_ID`].
pub const SECRET_ACCESS_KEY: &str = "stevedore-test-secret-key-not-a-real-one";
/// The region clients sign for.
pub const REGION: &str = "us-east-1";

/// A running S3 server; stopped, and its storage removed, on drop.
pub struct S3Server {
    addr: SocketAddr,
    root: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl S3Server {
    /// Bind a free port on 127.0.0.1 and serve an empty store from a new temporary directory.
    pub fn start() -> std::io::Result<S3Server> {
        let root = tempfile::Builder::new().prefix("stevedore-s3-").tempdir()?;
        let fs = s3s_fs::FileSystem::new(root.path())
            .map_err(|e| std::io::Error::other(format!("s3s-fs: {e:?}")))?;
        let mut builder = S3ServiceBuilder::new(fs);
        // Checking signatures keeps the rig honest: an unsigned or mis-signed request fails here
        // as it would against AWS.
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY_ID, SECRET_ACCESS_KEY));
        let service = builder.build();
        let store = root.path().to_path_buf();
        let gate = Arc::new(tokio::sync::Mutex::new(()));

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("s3-server".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = TcpListener::from_std(listener) else {
                        return;
                    };
                    accept::serve_http1(listener, stopped, move || {
                        let (service, store, gate) = (service.clone(), store.clone(), gate.clone());
                        hyper::service::service_fn(move |request| {
                            conditional_write(service.clone(), store.clone(), gate.clone(), request)
                        })
                    })
                    .await;
                });
            })?;
        Ok(S3Server {
            addr,
            root,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:<port>`, for `endpoint_url`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The directory holding the buckets (one sub-directory per bucket).
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// A real SDK client for this server: static test credentials, path-style addressing, the
    /// SDK's default checksum behaviour.
    pub fn client(&self) -> aws_sdk_s3::Client {
        client_for(&self.endpoint_url())
    }
}

/// S3's conditional writes in front of `s3s-fs` (see the module docs). Requests without
/// conditions go straight through.
async fn conditional_write(
    service: s3s::service::S3Service,
    store: PathBuf,
    gate: Arc<tokio::sync::Mutex<()>>,
    request: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<s3s::Body>, s3s::HttpError> {
    use hyper::service::Service;
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_owned())
    };
    let method = request.method().clone();
    let if_none_match = header("if-none-match").filter(|_| method == hyper::Method::PUT);
    let if_match = header("if-match")
        .filter(|_| method == hyper::Method::PUT || method == hyper::Method::DELETE);
    // Only whole-object writes (a part upload carries `uploadId`) with a condition.
    let is_part = request
        .uri()
        .query()
        .is_some_and(|q| q.contains("uploadId="));
    if (if_none_match.is_none() && if_match.is_none()) || is_part {
        return Service::call(&service, request).await;
    }
    let _one_at_a_time = gate.lock().await;
    // Path-style: /<bucket>/<key>, percent-encoded.
    let object = store.join(percent_decode(request.uri().path().trim_start_matches('/')));
    let existing = std::fs::read(&object).ok();
    let failed = match (&if_none_match, &if_match, &existing) {
        (Some(v), _, Some(_)) if v == "*" => Some((412, "PreconditionFailed", "If-None-Match")),
        (_, Some(_), None) => Some((404, "NoSuchKey", "")),
        (_, Some(v), Some(body)) if v != "*" && *v != etag_of(body) => {
            Some((412, "PreconditionFailed", "If-Match"))
        }
        _ => None,
    };
    if let Some((status, code, condition)) = failed {
        let message = if status == 412 {
            "At least one of the pre-conditions you specified did not hold"
        } else {
            "The specified key does not exist."
        };
        let condition = if condition.is_empty() {
            String::new()
        } else {
            format!("<Condition>{condition}</Condition>")
        };
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message>{condition}<RequestId>stevedore-rig</RequestId></Error>"
        );
        let mut response = hyper::Response::new(s3s::Body::from(body));
        *response.status_mut() =
            hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::BAD_REQUEST);
        response.headers_mut().insert(
            "content-type",
            hyper::header::HeaderValue::from_static("application/xml"),
        );
        return Ok(response);
    }
    Service::call(&service, request).await
}

/// The ETag `s3s-fs` gives an object: its MD5, in quotes.
fn etag_of(body: &[u8]) -> String {
    use md5::Digest;
    format!("\"{}\"", hex::encode(md5::Md5::digest(body)))
}

/// `%XX` escapes decoded (keys in request paths are percent-encoded).
fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && path.is_char_boundary(i + 1)
            && path.is_char_boundary(i + 3)
            && let Ok(byte) = u8::from_str_radix(&path[i + 1..i + 3], 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An `aws-sdk-s3` client for an S3 server of this rig at `endpoint_url`.
pub fn client_for(endpoint_url: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            ACCESS_KEY_ID,
            SECRET_ACCESS_KEY,
            None,
            None,
            "stevedore-test",
        ))
        .endpoint_url(endpoint_url)
        // With a host name the SDK would use virtual-hosted style (reference/eb-cli.md appendix).
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
