//! Building through BuildKit on the Docker Engine, the way the Docker CLI does without buildx:
//! a session (`/session`) on which stevedore serves the context by file sync, then
//! `/build?version=2` naming that session, whose answer carries BuildKit's status stream.
//!
//! The context is synced, not tarred: the daemon keeps its copy from the last build and asks
//! only for the files whose size or modification time changed.

pub mod auth;
pub mod filesync;
pub mod grpc;
pub mod proto;
pub mod request;
pub mod secrets;
pub mod session;
pub mod ssh;
pub mod status;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::BodyExt;
use sha2::Digest;

use super::build::{BuildError, BuildOutcome, BuildProgress, BuildRequest};
use super::context::ContextStats;
use crate::ignore::docker::{ContextEntry, EntryKind};
use filesync::SyncedDir;
use status::{StatusEvent, StatusTracker};

/// The Unix socket of the daemon, when DOCKER_HOST names one (or is unset).
pub fn daemon_socket() -> Option<PathBuf> {
    match std::env::var("DOCKER_HOST") {
        Ok(host) if !host.is_empty() => host.strip_prefix("unix://").map(PathBuf::from),
        _ => Some(PathBuf::from("/var/run/docker.sock")),
    }
}

/// A session id: random enough to be unique among concurrent builds on one daemon.
fn session_id() -> String {
    let mut hasher = sha2::Sha256::new();
    hasher.update(std::process::id().to_le_bytes());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    hasher.update(now.as_nanos().to_le_bytes());
    hasher.update(format!("{:p}", &now).as_bytes());
    hex::encode(&hasher.finalize()[..12])
}

/// The key under which the daemon keeps the synced context between builds: the same directory
/// gets the same key, so a rebuild transfers only what changed.
fn shared_key(dir: &Path) -> String {
    hex::encode(sha2::Sha256::digest(dir.as_os_str().as_encoded_bytes()))
}

fn stats(entries: &[ContextEntry]) -> ContextStats {
    let mut stats = ContextStats::default();
    for entry in entries {
        match entry.kind {
            EntryKind::File => stats.files += 1,
            EntryKind::Dir => stats.dirs += 1,
            EntryKind::Symlink => stats.symlinks += 1,
            EntryKind::Other => {}
        }
    }
    stats
}

/// Build `request` with BuildKit on the daemon at `socket`.
pub async fn build(
    socket: &Path,
    request: BuildRequest,
    secrets: HashMap<String, Vec<u8>>,
    credentials: &HashMap<String, bollard::auth::DockerCredentials>,
    mut progress: impl FnMut(BuildProgress) + Send,
) -> Result<BuildOutcome, BuildError> {
    let engine_error = |message: String| BuildError::Failed {
        tag: request.tag.clone(),
        step: "before the first step".to_owned(),
        message,
        tail: Vec::new(),
    };
    let ssh_agents = ssh::agents(&request.settings.ssh).map_err(|e| BuildError::Ssh {
        spec: e.spec,
        reason: e.reason,
    })?;
    let dockerfile_path = request.context_root.join(&request.dockerfile);
    let dockerfile_name = Path::new(&request.dockerfile)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "Dockerfile".to_owned());
    let mut dockerfile_entries = vec![ContextEntry {
        rel_path: dockerfile_name.clone(),
        path: dockerfile_path.clone(),
        kind: EntryKind::File,
    }];
    let beside = dockerfile_path.with_file_name(format!("{dockerfile_name}.dockerignore"));
    if beside.is_file() {
        dockerfile_entries.push(ContextEntry {
            rel_path: format!("{dockerfile_name}.dockerignore"),
            path: beside,
            kind: EntryKind::File,
        });
    }
    let mut context_stats = stats(&request.entries);
    let sent = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let dirs = vec![
        SyncedDir {
            name: "context".to_owned(),
            entries: Arc::new(request.entries.clone()),
            sent: sent.clone(),
        },
        SyncedDir {
            name: "dockerfile".to_owned(),
            entries: Arc::new(dockerfile_entries),
            sent: Arc::new(std::sync::atomic::AtomicU64::new(0)),
        },
    ];
    let id = session_id();
    let name = request
        .context_root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "context".to_owned());
    let session = session::open(
        socket,
        &id,
        &name,
        &shared_key(&request.context_root),
        session::SessionServices {
            dirs,
            secrets,
            auth: auth::RegistryAuth::new(credentials, request.aws_profile.clone()),
            ssh: Arc::new(ssh_agents),
        },
    )
    .await
    .map_err(|e| engine_error(e.to_string()))?;

    let query = request::build_query(&request, &session.id, &dockerfile_name);
    let stream = tokio::net::UnixStream::connect(socket)
        .await
        .map_err(|e| engine_error(format!("cannot reach the Docker Engine: {e}")))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| engine_error(e.to_string()))?;
    let driver = tokio::spawn(connection);
    let http_request = http::Request::post(format!("/build?{query}"))
        .header("Host", "docker")
        .header("Content-Type", "application/x-tar")
        .body(http_body_util::Empty::<Bytes>::new())
        .map_err(|e| engine_error(e.to_string()))?;
    let response = sender
        .send_request(http_request)
        .await
        .map_err(|e| engine_error(e.to_string()))?;
    let status = response.status();
    let mut body = response.into_body();
    if !status.is_success() {
        let text = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let message = serde_json::from_slice::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&text).trim().to_owned());
        return Err(failed(
            &request,
            &dockerfile_path,
            &StatusTracker::default(),
            message,
        ));
    }
    let mut tracker = StatusTracker::default();
    let mut buffer = Vec::new();
    let mut image_id = None;
    let mut failure: Option<String> = None;
    let mut steps = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| engine_error(e.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        buffer.extend_from_slice(&data);
        while let Some(end) = buffer.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=end).collect();
            let Ok(message) = serde_json::from_slice::<serde_json::Value>(&line) else {
                continue;
            };
            handle_message(
                &message,
                &mut tracker,
                &mut image_id,
                &mut failure,
                &mut steps,
                &mut progress,
            );
        }
    }
    drop(session);
    driver.abort();
    // Bytes of file data the daemon asked for: on a rebuild, only the changed files.
    context_stats.bytes = sent.load(std::sync::atomic::Ordering::Relaxed);
    if let Some(message) = failure {
        return Err(failed(&request, &dockerfile_path, &tracker, message));
    }
    let image_id = image_id.ok_or_else(|| BuildError::NoImageId {
        tag: request.tag.clone(),
    })?;
    Ok(BuildOutcome {
        image_id,
        context: context_stats,
        steps,
    })
}

fn handle_message(
    message: &serde_json::Value,
    tracker: &mut StatusTracker,
    image_id: &mut Option<String>,
    failure: &mut Option<String>,
    steps: &mut usize,
    progress: &mut impl FnMut(BuildProgress),
) {
    if let Some(error) = message.get("error").and_then(|e| e.as_str()) {
        *failure = Some(error.to_owned());
        return;
    }
    match message.get("id").and_then(|i| i.as_str()) {
        Some("moby.image.id") => {
            if let Some(id) = message.pointer("/aux/ID").and_then(|i| i.as_str()) {
                *image_id = Some(id.to_owned());
            }
        }
        Some("moby.buildkit.trace") => {
            let Some(encoded) = message.get("aux").and_then(|a| a.as_str()) else {
                return;
            };
            let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
                return;
            };
            for event in tracker.absorb(&decoded) {
                match event {
                    StatusEvent::Started(_, vertex) => {
                        *steps += 1;
                        progress(BuildProgress::Output(format!("started {}", vertex.name)));
                    }
                    StatusEvent::Completed(_, vertex) => {
                        let took = match (vertex.started, vertex.completed) {
                            (Some(s), Some(c)) if c >= s => format!(" {:.1}s", c - s),
                            _ => String::new(),
                        };
                        let state = if vertex.cached {
                            "CACHED".to_owned()
                        } else if vertex.error.is_empty() {
                            format!("DONE{took}")
                        } else {
                            "ERROR".to_owned()
                        };
                        progress(BuildProgress::Done {
                            instruction: vertex.name,
                            status: state,
                        });
                    }
                    StatusEvent::Log(_, line) => progress(BuildProgress::Output(line)),
                }
            }
        }
        _ => {}
    }
}

/// The error for a failed build: a clear paragraph for an unavailable `# syntax=` frontend,
/// otherwise the failing step with its output tail.
fn failed(
    request: &BuildRequest,
    dockerfile: &Path,
    tracker: &StatusTracker,
    message: String,
) -> BuildError {
    if let Some((line, syntax)) = syntax_directive(dockerfile)
        && !tracker_has_steps(tracker)
    {
        return BuildError::Frontend {
            tag: request.tag.clone(),
            dockerfile: request.dockerfile.clone(),
            line,
            syntax,
        };
    }
    let (step, tail) = tracker
        .failed_step()
        .unwrap_or_else(|| ("before the first step".to_owned(), Vec::new()));
    BuildError::Failed {
        tag: request.tag.clone(),
        step,
        message: message.trim().to_owned(),
        tail,
    }
}

fn tracker_has_steps(tracker: &StatusTracker) -> bool {
    tracker
        .failed_step()
        .is_some_and(|(name, _)| name.starts_with('['))
}

/// The `# syntax=` directive of a Dockerfile (line number, value), when it has one. Parser
/// directives are only recognised in the leading comment block.
pub fn syntax_directive(dockerfile: &Path) -> Option<(usize, String)> {
    let text = std::fs::read_to_string(dockerfile).ok()?;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        let comment = trimmed.strip_prefix('#')?;
        let comment = comment.trim();
        if let Some((key, value)) = comment.split_once('=')
            && key.trim().eq_ignore_ascii_case("syntax")
        {
            return Some((index + 1, value.trim().to_owned()));
        }
    }
    None
}
