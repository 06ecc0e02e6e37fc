//! The Docker Engine fixture: the machine's daemon, and the demo's base image made locally with
//! `docker import` (nothing is pulled).

use std::process::Command;
use std::sync::OnceLock;

/// The tag the demo's Dockerfiles default to; the rig provides it offline.
pub const BASE_IMAGE: &str = "busybox:1.36";

/// Whether the daemon answers and the base image exists. Under `CI=true` a missing daemon fails
/// the calling test; elsewhere it is skipped with one loud line.
pub fn ready() -> bool {
    static STATE: OnceLock<Result<(), String>> = OnceLock::new();
    match STATE.get_or_init(prepare) {
        Ok(()) => true,
        Err(why) => super::unavailable("the Docker Engine", why),
    }
}

fn prepare() -> Result<(), String> {
    let version = docker(&["version", "--format", "{{.Server.APIVersion}}"])?;
    if version.trim().is_empty() {
        return Err("`docker version` reported no server".into());
    }
    let script = super::repo_root().join("tests/support/base-image.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(BASE_IMAGE)
        .output()
        .map_err(|e| format!("running {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// Run the docker CLI (an independent oracle, not our own engine code); stdout on success.
pub fn docker(args: &[&str]) -> Result<String, String> {
    let out = Command::new("docker")
        .args(args)
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .map_err(|e| format!("docker not runnable: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "docker {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Removes the named containers, networks and images when dropped, so a failing test leaves
/// nothing behind.
#[derive(Default)]
pub struct Cleanup {
    containers: Vec<String>,
    networks: Vec<String>,
    images: Vec<String>,
}

impl Cleanup {
    /// Remove container `name` at the end.
    pub fn container(&mut self, name: &str) {
        self.containers.push(name.to_owned());
    }

    /// Remove network `name` at the end.
    pub fn network(&mut self, name: &str) {
        self.networks.push(name.to_owned());
    }

    /// Remove image `reference` at the end.
    pub fn image(&mut self, reference: &str) {
        self.images.push(reference.to_owned());
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for c in &self.containers {
            let _ = docker(&["rm", "-f", "-v", c]);
        }
        for n in &self.networks {
            let _ = docker(&["network", "rm", n]);
        }
        for i in &self.images {
            let _ = docker(&["rmi", "-f", i]);
        }
    }
}

/// A name unique to this test process and call, for containers, networks and tags.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
