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
    projects: Vec<String>,
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

    /// Remove everything labelled as Compose project `name` at the end: containers (with
    /// their anonymous volumes), networks and volumes, whoever created them.
    pub fn compose_project(&mut self, name: &str) {
        self.projects.push(name.to_owned());
    }
}

/// Ids or names of what `docker <kind> ls` lists with label `com.docker.compose.project=name`.
pub fn compose_project_objects(kind: &str, name: &str) -> Vec<String> {
    let filter = format!("label=com.docker.compose.project={name}");
    let args: Vec<&str> = match kind {
        "container" => vec!["ps", "-aq", "--filter", &filter],
        "network" => vec!["network", "ls", "-q", "--filter", &filter],
        _ => vec!["volume", "ls", "-q", "--filter", &filter],
    };
    docker(&args)
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for project in &self.projects {
            for c in compose_project_objects("container", project) {
                let _ = docker(&["rm", "-f", "-v", &c]);
            }
            for n in compose_project_objects("network", project) {
                let _ = docker(&["network", "rm", &n]);
            }
            for v in compose_project_objects("volume", project) {
                let _ = docker(&["volume", "rm", "-f", &v]);
            }
        }
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

/// A project whose `dev` environment is `compose` alone (images it names must exist), with a
/// compose project name of its own that is cleaned up when this is dropped.
pub struct ComposeDev {
    /// The project.
    pub project: super::Project,
    /// `-p` for its commands.
    pub compose_project: String,
    _cleanup: Cleanup,
}

impl ComposeDev {
    /// `docker/app/dev/docker-compose.yml` holding `compose`; names start with `prefix`.
    pub fn new(prefix: &str, compose: &str) -> ComposeDev {
        let name = unique(prefix);
        let compose_project = format!("{name}-dev");
        let mut cleanup = Cleanup::default();
        cleanup.compose_project(&compose_project);
        let project = super::Project::new()
            .env("STEVEDORE_PROJECT_NAME", &name)
            .file("environments/dev/Procfile", "web: true\n")
            .file("docker/app/dev/docker-compose.yml", compose);
        ComposeDev {
            project,
            compose_project,
            _cleanup: cleanup,
        }
    }
}

/// A project whose dev app image is built from `dockerfile` with the builder left to
/// stevedore's choice; returns it and the image tag (removed with `cleanup`).
pub fn dockerfile_project(
    cleanup: &mut Cleanup,
    prefix: &str,
    dockerfile: &str,
) -> (super::Project, String) {
    let name = unique(prefix);
    let tag = format!("{name}-app:dev");
    cleanup.image(&tag);
    let project = super::Project::new()
        .env("STEVEDORE_PROJECT_NAME", &name)
        .env("STEVEDORE_BUILDER", "")
        .env("DOCKER_BUILDKIT", "")
        .file("environments/dev/Procfile", "web: true\n")
        .file("docker/app/dev/Dockerfile", dockerfile);
    (project, tag)
}

/// The file at `path` in image `tag`.
pub fn cat(tag: &str, path: &str) -> String {
    docker(&["run", "--rm", tag, "cat", path]).expect("run")
}

/// `docker --config <config> login <host> -u <user>` with the password on stdin.
pub fn docker_login(config: &str, host: &str, user: &str, password: &str) {
    use std::io::Write;
    let mut login = Command::new("docker")
        .args([
            "--config",
            config,
            "login",
            host,
            "-u",
            user,
            "--password-stdin",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("docker login");
    login
        .stdin
        .take()
        .expect("stdin")
        .write_all(password.as_bytes())
        .expect("password");
    let out = login.wait_with_output().expect("login");
    assert!(
        out.status.success(),
        "docker login {host}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
