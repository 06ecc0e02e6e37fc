//! A real S3-protocol server on a loopback port: `s3s-fs` (objects as files in a temporary
//! directory) behind hyper, reached by the real `aws-sdk-s3` client over HTTP with SigV4 checked.
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
use std::path::Path;
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
                    accept::serve_http1(listener, stopped, move || service.clone()).await;
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
