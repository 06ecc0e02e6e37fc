//! A bollard client for a resolved [`Endpoint`]: the local socket, plain or TLS TCP, or SSH.
//!
//! SSH works as the Docker CLI does it: every connection runs
//! `ssh [-l user] [-p port] -- host docker system dial-stdio` and speaks HTTP/1.1 over the
//! child's stdin and stdout. `ssh` is the user's own client, so its config, agent and
//! known_hosts apply.

use std::process::Stdio;

use bollard::{API_DEFAULT_VERSION, BollardRequest, Docker};
use tokio::io::AsyncReadExt;

use super::endpoint::{Endpoint, EndpointError};

/// How long any Engine request may wait for the start of its answer (connecting included):
/// bollard's default, long enough for a build context to upload before the daemon answers.
/// Streams (build output, logs) are bounded by their commands, not by this.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);
const REQUEST_TIMEOUT_SECS: u64 = REQUEST_TIMEOUT.as_secs();

/// Why no client could be made.
#[derive(Debug)]
pub enum ClientError {
    /// The address itself is wrong.
    Endpoint(EndpointError),
    /// The address is fine but cannot be used now (no socket there, unreadable certificates).
    Unreachable(String),
}

/// A client for `endpoint` (not yet contacted).
pub fn client(endpoint: &Endpoint) -> Result<Docker, ClientError> {
    let bad = |why: String| {
        ClientError::Endpoint(EndpointError::BadHost {
            host: endpoint.host.clone(),
            why,
        })
    };
    let unreachable = |err: bollard::errors::Error| ClientError::Unreachable(err.to_string());
    let (scheme, rest) = endpoint
        .host
        .split_once("://")
        .ok_or_else(|| bad("no scheme".into()))?;
    match scheme {
        "unix" => {
            if endpoint.tls.is_some() {
                return Err(bad("TLS over a unix socket".into()));
            }
            Docker::connect_with_unix(rest, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
                .map_err(unreachable)
        }
        "tcp" | "http" | "https" => match &endpoint.tls {
            Some(tls) => Docker::connect_with_ssl(
                rest,
                &tls.dir.join("key.pem"),
                &tls.dir.join("cert.pem"),
                &tls.dir.join("ca.pem"),
                REQUEST_TIMEOUT_SECS,
                API_DEFAULT_VERSION,
            )
            .map_err(unreachable),
            None => Docker::connect_with_http(rest, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
                .map_err(unreachable),
        },
        "ssh" => {
            let target = SshTarget::parse(rest).map_err(bad)?;
            let transport = move |request: BollardRequest| {
                let target = target.clone();
                async move { target.request(request).await }
            };
            Docker::connect_with_custom_transport(
                transport,
                Some("http://docker"),
                REQUEST_TIMEOUT_SECS,
                API_DEFAULT_VERSION,
            )
            .map_err(|e| bad(e.to_string()))
        }
        other => Err(bad(format!("scheme {other}:// is not supported"))),
    }
}

/// `ssh://[user@]host[:port]`, split into what `ssh` takes.
#[derive(Debug, Clone)]
struct SshTarget {
    user: Option<String>,
    host: String,
    port: Option<u16>,
}

impl SshTarget {
    fn parse(rest: &str) -> Result<SshTarget, String> {
        let rest = rest.trim_end_matches('/');
        if rest.contains('/') {
            return Err("a path after the host is not supported over ssh".into());
        }
        let (user, hostport) = match rest.rsplit_once('@') {
            Some((user, hostport)) => (Some(user.to_owned()), hostport),
            None => (None, rest),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || hostport.starts_with('[') => {
                let port = port
                    .parse::<u16>()
                    .map_err(|_| format!("bad port \"{port}\""))?;
                (host.trim_matches(['[', ']']).to_owned(), Some(port))
            }
            _ => (hostport.to_owned(), None),
        };
        if host.is_empty() || host.starts_with('-') {
            return Err("no host".into());
        }
        Ok(SshTarget { user, host, port })
    }

    /// Send one request over a fresh `docker system dial-stdio` through ssh.
    async fn request(
        &self,
        request: BollardRequest,
    ) -> Result<http::Response<hyper::body::Incoming>, bollard::errors::Error> {
        let mut cmd = tokio::process::Command::new("ssh");
        cmd.args(["-o", "ConnectTimeout=30", "-T"]);
        if let Some(user) = &self.user {
            cmd.arg("-l").arg(user);
        }
        if let Some(port) = self.port {
            cmd.arg("-p").arg(port.to_string());
        }
        cmd.arg("--")
            .arg(&self.host)
            .args(["docker", "system", "dial-stdio"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|err| {
            io_error(format!("cannot run ssh (install an OpenSSH client): {err}"))
        })?;
        let (Some(stdin), Some(stdout), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(io_error("ssh started without pipes".into()));
        };
        // What ssh or the remote docker says on stderr explains most failures (host key,
        // permission denied, docker not installed there).
        let mut said = tokio::spawn(async move {
            let mut buf = Vec::new();
            let _ = stderr.read_to_end(&mut buf).await;
            String::from_utf8_lossy(&buf).trim().to_owned()
        });
        let io = hyper_util::rt::TokioIo::new(tokio::io::join(stdout, stdin));
        let handshake = hyper::client::conn::http1::handshake(io).await;
        let (mut sender, conn) = match handshake {
            Ok(pair) => pair,
            Err(err) => return Err(self.explain(err, &mut said).await),
        };
        // The connection task owns the child: it ends (and ssh with it) when hyper is done,
        // upgrades (attach) included.
        tokio::spawn(async move {
            let _ = conn.with_upgrades().await;
            drop(child);
        });
        let (mut parts, body) = request.into_parts();
        // Origin-form path for the dialled daemon, with a Host header as the CLI sends.
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".into());
        parts.uri = path
            .parse()
            .map_err(|_| io_error(format!("bad request path {path}")))?;
        parts
            .headers
            .insert(http::header::HOST, http::HeaderValue::from_static("docker"));
        let request = http::Request::from_parts(parts, body);
        match sender.send_request(request).await {
            Ok(response) => Ok(response),
            Err(err) => Err(self.explain(err, &mut said).await),
        }
    }

    /// The error of a failed ssh connection, with what ssh printed (given a moment to exit).
    async fn explain(
        &self,
        err: hyper::Error,
        said: &mut tokio::task::JoinHandle<String>,
    ) -> bollard::errors::Error {
        let stderr = tokio::time::timeout(std::time::Duration::from_secs(2), said)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let detail = if stderr.is_empty() {
            String::new()
        } else {
            format!(" (ssh said: {stderr})")
        };
        io_error(format!("over ssh to {}: {err}{detail}", self.host))
    }
}

fn io_error(message: String) -> bollard::errors::Error {
    bollard::errors::Error::IOError {
        err: std::io::Error::other(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_targets_parse() {
        let t = SshTarget::parse("me@box:2222").unwrap();
        assert_eq!(
            (t.user.as_deref(), t.host.as_str(), t.port),
            (Some("me"), "box", Some(2222))
        );
        let t = SshTarget::parse("box").unwrap();
        assert_eq!((t.user, t.host.as_str(), t.port), (None, "box", None));
        assert!(SshTarget::parse("-oProxyCommand=x").is_err());
        assert!(SshTarget::parse("box:notaport").is_err());
    }
}
