//! A real v2 registry (Debian's `docker-registry`, distribution 2.8) on a free loopback port,
//! with its own storage directory; optionally behind htpasswd basic auth.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running registry; stopped and its storage removed on drop.
pub struct Registry {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
    /// The user and password when started with auth.
    pub credentials: Option<(String, String)>,
}

const BINARY: &str = "docker-registry";

impl Registry {
    /// Start an open registry, or `None` (skipped loudly; a failure under CI) when the
    /// `docker-registry` package is missing.
    pub fn start() -> Option<Registry> {
        Self::launch(None)
    }

    /// Start a registry that requires `user`/`password` (bcrypt htpasswd, via `htpasswd -B`).
    pub fn start_with_auth(user: &str, password: &str) -> Option<Registry> {
        Self::launch(Some((user.to_owned(), password.to_owned())))
    }

    fn launch(credentials: Option<(String, String)>) -> Option<Registry> {
        if Command::new(BINARY).arg("--version").output().is_err() {
            super::unavailable(
                "docker-registry",
                "install Debian's docker-registry package",
            );
            return None;
        }
        let dir = tempfile::tempdir().expect("registry dir");
        let auth = match &credentials {
            Some((user, password)) => {
                let htpasswd = dir.path().join("htpasswd");
                write_htpasswd(&htpasswd, user, password)?;
                format!(
                    "auth:\n  htpasswd:\n    realm: stevedore-test\n    path: {}\n",
                    htpasswd.display()
                )
            }
            None => String::new(),
        };
        let port = free_port();
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: stevedore-test\n{auth}",
                dir.path().join("data").display()
            ),
        )
        .expect("write registry config");
        let child = Command::new(BINARY)
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn docker-registry");
        let registry = Registry {
            child,
            port,
            _dir: dir,
            credentials,
        };
        registry.wait_ready();
        Some(registry)
    }

    /// `127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// GET `path` with optional basic auth; the status code.
    pub fn get_status(&self, path: &str, basic: Option<(&str, &str)>) -> u16 {
        http_status(self.port, path, basic).unwrap_or(0)
    }

    /// The registry's own digest for `name:reference` (`Docker-Content-Digest`), with the
    /// fixture's credentials when it has them.
    pub fn manifest_digest(&self, name: &str, reference: &str) -> Option<String> {
        let basic = self
            .credentials
            .as_ref()
            .map(|(u, p)| (u.as_str(), p.as_str()));
        let response = http_request(
            self.port,
            "HEAD",
            &format!("/v2/{name}/manifests/{reference}"),
            basic,
            "Accept: application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json\r\n",
        )?;
        response.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case("docker-content-digest")
                .then(|| value.trim().to_owned())
        })
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(code) = http_status(self.port, "/v2/", None)
                && (code == 200 || code == 401)
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "docker-registry did not answer on port {} within 20s",
            self.port
        );
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_htpasswd(path: &Path, user: &str, password: &str) -> Option<()> {
    let out = match Command::new("htpasswd")
        .args(["-Bbn", user, password])
        .output()
    {
        Ok(out) if out.status.success() => out,
        _ => {
            super::unavailable("htpasswd", "install Debian's apache2-utils package");
            return None;
        }
    };
    std::fs::write(path, out.stdout).expect("write htpasswd");
    Some(())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A minimal HTTP/1.0 GET, so the rig needs no HTTP client crate.
fn http_status(port: u16, path: &str, basic: Option<(&str, &str)>) -> Option<u16> {
    http_request(port, "GET", path, basic, "")?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// One HTTP/1.0 request; the raw response (status line, headers, body).
fn http_request(
    port: u16,
    method: &str,
    path: &str,
    basic: Option<(&str, &str)>,
    extra_headers: &str,
) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let auth = basic
        .map(|(u, p)| {
            use base64::Engine;
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
            format!("Authorization: Basic {token}\r\n")
        })
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n{auth}{extra_headers}\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}
