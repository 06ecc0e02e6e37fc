//! SSH agent forwarding for `RUN --mount=type=ssh` (`--ssh default`, compose `build.ssh`): the
//! session serves `moby.sshforward.v1.SSH`; for each `ForwardAgent` call the daemon makes,
//! stevedore connects to the user's agent socket and relays the agent protocol's bytes both
//! ways as `BytesMessage`s. Keys never leave the agent; the build only gets signatures.

use std::collections::HashMap;
use std::os::unix::fs::FileTypeExt;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use h2::RecvStream;
use h2::server::SendResponse;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use super::grpc::{self, Code, MessageReader};
use super::proto::{self, Fields, Value};

/// The id `RUN --mount=type=ssh` uses when it names none.
pub const DEFAULT_ID: &str = "default";

/// Why an `--ssh` spec cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshSpecError {
    /// What was given.
    pub spec: String,
    /// What is wrong.
    pub reason: String,
}

/// The agent socket of each id in `specs` (`default`, `ID`, `ID=SOCKET`): an id without a
/// socket uses `$SSH_AUTH_SOCK`, as `docker build --ssh` does.
pub fn agents(specs: &[String]) -> Result<HashMap<String, PathBuf>, SshSpecError> {
    let mut out = HashMap::new();
    for spec in specs {
        let fail = |reason: String| SshSpecError {
            spec: spec.clone(),
            reason,
        };
        let (id, paths) = match spec.split_once('=') {
            Some((id, paths)) => (id.trim(), Some(paths)),
            None => (spec.trim(), None),
        };
        if id.is_empty() {
            return Err(fail("no id".to_owned()));
        }
        let path = match paths {
            Some(paths) => {
                let mut paths = paths.split(',').map(str::trim).filter(|p| !p.is_empty());
                let first = paths
                    .next()
                    .ok_or_else(|| fail("no socket after `=`".into()))?;
                if paths.next().is_some() {
                    return Err(fail("give one agent socket per id".to_owned()));
                }
                PathBuf::from(first)
            }
            None => std::env::var_os("SSH_AUTH_SOCK")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .ok_or_else(|| {
                    fail(
                        "SSH_AUTH_SOCK is not set: start an agent (`eval $(ssh-agent)`, then \
                         `ssh-add`) or give its socket as ID=SOCKET"
                            .to_owned(),
                    )
                })?,
        };
        match std::fs::metadata(&path) {
            Ok(meta) if meta.file_type().is_socket() => {}
            Ok(_) => {
                return Err(fail(format!(
                    "{} is not an agent socket (key files are not supported; load the key \
                     into ssh-agent with `ssh-add` instead)",
                    path.display()
                )));
            }
            Err(err) => return Err(fail(format!("{}: {err}", path.display()))),
        }
        out.insert(id.to_owned(), path);
    }
    Ok(out)
}

/// The id of a `CheckAgentRequest { string ID = 1; }` (`default` when empty).
pub fn check_request_id(message: &[u8]) -> String {
    Fields::new(message)
        .find_map(|(field, value)| match (field, value) {
            (1, Value::Bytes(v)) if !v.is_empty() => Some(proto::text(v)),
            _ => None,
        })
        .unwrap_or_else(|| DEFAULT_ID.to_owned())
}

/// Serves one `ForwardAgent` call: relays between the daemon's stream and the agent of the
/// id named in the `ssh-id` metadata.
pub async fn forward(
    request: http::Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
    agents: Arc<HashMap<String, PathBuf>>,
) {
    let id = grpc::metadata(&request, "ssh-id")
        .into_iter()
        .next()
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| DEFAULT_ID.to_owned());
    let Some(path) = agents.get(&id) else {
        grpc::reject(
            &mut respond,
            Code::NotFound,
            &format!("no SSH agent for id {id}: pass --ssh {id}"),
        );
        return;
    };
    let socket = match UnixStream::connect(path).await {
        Ok(socket) => socket,
        Err(err) => {
            grpc::reject(
                &mut respond,
                Code::Internal,
                &format!("cannot reach the SSH agent: {err}"),
            );
            return;
        }
    };
    let Ok(mut send) = respond.send_response(grpc::response_head(), false) else {
        return;
    };
    let (mut from_agent, mut to_agent) = socket.into_split();
    let mut reader = MessageReader::new(request.into_body());
    // Daemon → agent. When the daemon closes its side, the agent sees end of input, answers
    // what it has, and closes, which ends the other direction.
    let inbound = tokio::spawn(async move {
        while let Ok(Some(message)) = reader.next().await {
            let data = Fields::new(&message).find_map(|(field, value)| match (field, value) {
                (1, Value::Bytes(v)) => Some(v.to_vec()),
                _ => None,
            });
            if let Some(data) = data
                && to_agent.write_all(&data).await.is_err()
            {
                break;
            }
        }
        let _ = to_agent.shutdown().await;
    });
    // Agent → daemon.
    let mut buffer = vec![0u8; 32 * 1024];
    let mut code = Code::Ok;
    loop {
        match from_agent.read(&mut buffer).await {
            Ok(0) => break,
            Ok(n) => {
                let mut message = Vec::with_capacity(n + 8);
                proto::put_bytes(&mut message, 1, &buffer[..n]);
                if grpc::send(&mut send, grpc::frame(&message)).await.is_err() {
                    code = Code::Cancelled;
                    break;
                }
            }
            Err(_) => {
                code = Code::Internal;
                break;
            }
        }
    }
    inbound.abort();
    let _ = send.send_trailers(grpc::trailers(code, ""));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_need_a_socket() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("id_ed25519");
        std::fs::write(&file, "key").expect("write");
        let spec = format!("deploy={}", file.display());
        let err = agents(&[spec]).expect_err("a key file is refused");
        assert!(err.reason.contains("not an agent socket"), "{err:?}");
        let sock = dir.path().join("agent.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).expect("bind");
        let found = agents(&[format!("deploy={}", sock.display())]).expect("socket");
        assert_eq!(found["deploy"], sock);
        assert!(agents(&["=x".to_owned()]).is_err());
    }

    #[test]
    fn check_request_defaults_to_default() {
        assert_eq!(check_request_id(&[]), DEFAULT_ID);
        let mut message = Vec::new();
        proto::put_bytes(&mut message, 1, b"deploy");
        assert_eq!(check_request_id(&message), "deploy");
    }
}
