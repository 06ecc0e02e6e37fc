//! A one-request HTTP/1.1 client for loopback only (registry manifests, health probes). It
//! refuses any other address, so the emulator can never reach outside the machine.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper_util::rt::TokioIo;

/// What came back.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Bytes,
}

impl Response {
    /// The first header called `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Whether `host` (`name[:port]`) is a loopback address.
pub fn is_loopback(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    name == "localhost"
        || name == "[::1]"
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Send `method path` to `host` (`127.0.0.1:port`) with `headers`; errors as text.
pub async fn request(
    method: &str,
    host: &str,
    path: &str,
    headers: &[(&str, String)],
    timeout: Duration,
) -> Result<Response, String> {
    if !is_loopback(host) {
        return Err(format!(
            "{host} is not a loopback address; the emulator reaches only 127.0.0.1"
        ));
    }
    let work = async {
        let addr = if host.starts_with("localhost") {
            host.replacen("localhost", "127.0.0.1", 1)
        } else {
            host.to_owned()
        };
        let stream = tokio::net::TcpStream::connect(&addr)
            .await
            .map_err(|e| format!("connecting to {host}: {e}"))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP handshake with {host}: {e}"))?;
        tokio::spawn(connection);
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header("host", host)
            .header("user-agent", "stevedore-ebsim");
        for (name, value) in headers {
            builder = builder.header(*name, value);
        }
        let request = builder
            .body(Empty::<Bytes>::new())
            .map_err(|e| format!("building the request: {e}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("{method} http://{host}{path}: {e}"))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("reading the body from {host}: {e}"))?
            .to_bytes();
        Ok(Response {
            status,
            headers,
            body,
        })
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| format!("{method} http://{host}{path} timed out"))?
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_loopback_hosts_are_allowed() {
        for host in ["127.0.0.1:5000", "127.1.2.3", "localhost:80", "[::1]:9"] {
            assert!(super::is_loopback(host), "{host}");
        }
        for host in [
            "10.0.0.1:5000",
            "example.com",
            "registry-1.docker.io",
            "192.168.1.1",
        ] {
            assert!(!super::is_loopback(host), "{host}");
        }
    }
}
