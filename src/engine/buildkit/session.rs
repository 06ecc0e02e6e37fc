//! The BuildKit session: `POST /session` upgraded to h2c, on which the daemon is the HTTP/2
//! client and stevedore serves gRPC (file sync, secrets, health) until the build ends.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::task::JoinHandle;

use super::auth::{self, RegistryAuth};
use super::filesync::{self, SyncedDir};
use super::grpc::{self, Code};
use super::proto::{self, Fields, Value};

const DIFF_COPY: &str = "/moby.filesync.v1.FileSync/DiffCopy";
const HEALTH: &str = "/grpc.health.v1.Health/Check";
const GET_SECRET: &str = "/moby.buildkit.secrets.v1.Secrets/GetSecret";
const CREDENTIALS: &str = "/moby.filesync.v1.Auth/Credentials";
const FETCH_TOKEN: &str = "/moby.filesync.v1.Auth/FetchToken";
const GET_TOKEN_AUTHORITY: &str = "/moby.filesync.v1.Auth/GetTokenAuthority";
const VERIFY_TOKEN_AUTHORITY: &str = "/moby.filesync.v1.Auth/VerifyTokenAuthority";
const SSH_CHECK: &str = "/moby.sshforward.v1.SSH/CheckAgent";
const SSH_FORWARD: &str = "/moby.sshforward.v1.SSH/ForwardAgent";

/// Framing overhead h2 accepts in buffered small DATA frames (bytes).
const SMALL_FRAME_BUDGET: usize = 256 * 1024 * 1024;

/// What the session serves.
pub struct SessionServices {
    /// Directories offered to FileSync.
    pub dirs: Vec<SyncedDir>,
    /// Build secrets by id (values only ever go to the daemon).
    pub secrets: HashMap<String, Vec<u8>>,
    /// Registry credentials for the images the build pulls.
    pub auth: RegistryAuth,
    /// SSH agent sockets by id (`--ssh`); the SSH service is offered only when there are some.
    pub ssh: Arc<HashMap<String, std::path::PathBuf>>,
}

/// A running session; dropping it closes the connection.
pub struct Session {
    /// The id passed to `/build` as `session`.
    pub id: String,
    task: JoinHandle<()>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Opens a session on the daemon at `socket`.
pub async fn open(
    socket: &Path,
    id: &str,
    name: &str,
    shared_key: &str,
    services: SessionServices,
) -> std::io::Result<Session> {
    let mut stream = UnixStream::connect(socket).await?;
    let mut head = format!(
        "POST /session HTTP/1.1\r\nHost: docker\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\
         Content-Length: 0\r\nX-Docker-Expose-Session-Uuid: {id}\r\n\
         X-Docker-Expose-Session-Name: {name}\r\nX-Docker-Expose-Session-Sharedkey: {shared_key}\r\n"
    );
    let methods = [
        DIFF_COPY,
        HEALTH,
        GET_SECRET,
        CREDENTIALS,
        FETCH_TOKEN,
        GET_TOKEN_AUTHORITY,
        VERIFY_TOKEN_AUTHORITY,
    ];
    let ssh_methods: &[&str] = if services.ssh.is_empty() {
        &[]
    } else {
        &[SSH_CHECK, SSH_FORWARD]
    };
    for method in methods.iter().chain(ssh_methods) {
        head.push_str(&format!(
            "X-Docker-Expose-Session-Grpc-Method: {method}\r\n"
        ));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    // Read the answer byte by byte: the HTTP/2 preface may follow the head at once.
    let mut answer = Vec::new();
    while !answer.ends_with(b"\r\n\r\n") {
        let byte = stream.read_u8().await?;
        answer.push(byte);
        if answer.len() > 16 * 1024 {
            break;
        }
    }
    let status_line = String::from_utf8_lossy(&answer);
    if !status_line.starts_with("HTTP/1.1 101") {
        let first = status_line.lines().next().unwrap_or_default().to_owned();
        return Err(std::io::Error::other(format!(
            "the Docker Engine refused a BuildKit session: {first}"
        )));
    }
    let services = Arc::new(services);
    let task = tokio::spawn(async move {
        // The daemon sends one small DATA frame per file it wants (fsutil REQ packets), thousands
        // at once on a cold build; h2's default flood budget (about 100 small frames buffered)
        // would close the connection. The peer is the local daemon, so allow plenty.
        let handshake = h2::server::Builder::new()
            .data_frame_budget(SMALL_FRAME_BUDGET)
            .handshake(stream);
        let Ok(mut connection) = handshake.await else {
            return;
        };
        while let Some(Ok((request, respond))) = connection.accept().await {
            let services = services.clone();
            tokio::spawn(dispatch(request, respond, services));
        }
    });
    Ok(Session {
        id: id.to_owned(),
        task,
    })
}

async fn dispatch(
    request: http::Request<h2::RecvStream>,
    mut respond: h2::server::SendResponse<Bytes>,
    services: Arc<SessionServices>,
) {
    match request.uri().path() {
        DIFF_COPY => {
            let dirs = Arc::new(services.dirs.clone());
            filesync::serve(request, respond, dirs).await;
        }
        HEALTH => {
            // HealthCheckResponse { status: SERVING }.
            unary(respond, Ok(vec![0x08, 0x01])).await;
        }
        GET_SECRET => {
            let mut reader = grpc::MessageReader::new(request.into_body());
            let id = match reader.next().await {
                Ok(Some(message)) => Fields::new(&message)
                    .find_map(|(field, value)| match (field, value) {
                        (1, Value::Bytes(v)) => Some(proto::text(v)),
                        _ => None,
                    })
                    .unwrap_or_default(),
                _ => String::new(),
            };
            let answer = match services.secrets.get(&id) {
                Some(value) => {
                    let mut out = Vec::new();
                    proto::put_bytes(&mut out, 1, value);
                    Ok(out)
                }
                None => Err((Code::NotFound, format!("secret {id} not found"))),
            };
            unary(respond, answer).await;
        }
        CREDENTIALS => {
            let mut reader = grpc::MessageReader::new(request.into_body());
            let host = match reader.next().await {
                Ok(Some(message)) => auth::request_host(&message),
                _ => String::new(),
            };
            let (username, secret) = services.auth.credentials(&host).await;
            unary(respond, Ok(auth::response(&username, &secret))).await;
        }
        SSH_CHECK => {
            let mut reader = grpc::MessageReader::new(request.into_body());
            let id = match reader.next().await {
                Ok(Some(message)) => super::ssh::check_request_id(&message),
                _ => super::ssh::DEFAULT_ID.to_owned(),
            };
            let answer = if services.ssh.contains_key(&id) {
                Ok(Vec::new())
            } else {
                Err((
                    Code::NotFound,
                    format!("no SSH agent for id {id}: pass --ssh {id}"),
                ))
            };
            unary(respond, answer).await;
        }
        SSH_FORWARD => super::ssh::forward(request, respond, services.ssh.clone()).await,
        // No token authority: BuildKit then fetches registry tokens itself, with the
        // credentials above.
        _ => grpc::reject(&mut respond, Code::Unimplemented, "method not served"),
    }
}

async fn unary(
    mut respond: h2::server::SendResponse<Bytes>,
    answer: Result<Vec<u8>, (Code, String)>,
) {
    match answer {
        Ok(message) => {
            let Ok(mut send) = respond.send_response(grpc::response_head(), false) else {
                return;
            };
            if grpc::send(&mut send, grpc::frame(&message)).await.is_ok() {
                let _ = send.send_trailers(grpc::trailers(Code::Ok, ""));
            }
        }
        Err((code, message)) => grpc::reject(&mut respond, code, &message),
    }
}
