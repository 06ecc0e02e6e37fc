//! The health check: GET the entry port's health path until it answers 2xx/3xx (what the load
//! balancer's default success codes accept) or the deadline passes.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::http;

/// Probe `http://addr path` until healthy; the last failure on timeout.
pub async fn until_healthy(addr: SocketAddr, path: &str, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let host = addr.to_string();
    loop {
        let last = match http::request("GET", &host, path, &[], Duration::from_secs(3)).await {
            Ok(r) if (200..400).contains(&r.status) => return Ok(()),
            Ok(r) => format!("GET {path} answered HTTP {}", r.status),
            Err(e) => e,
        };
        if Instant::now() >= deadline {
            return Err(format!(
                "health check failed after {}s: {last}",
                timeout.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
