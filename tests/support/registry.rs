//! A real v2 registry (Debian's `docker-registry`, distribution 2.8) on a free loopback port,
//! with its own storage directory; optionally behind htpasswd basic auth or Bearer tokens from
//! the rig's token server ([`super::token_auth`]).

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
    /// The token server's port, when the registry wants Bearer tokens.
    token_port: Option<u16>,
}

const BINARY: &str = "docker-registry";

impl Registry {
    /// Start an open registry, or `None` (skipped loudly; a failure under CI) when the
    /// `docker-registry` package is missing.
    pub fn start() -> Option<Registry> {
        Self::launch(None, None)
    }

    /// Start a registry that requires `user`/`password` (bcrypt htpasswd, via `htpasswd -B`).
    pub fn start_with_auth(user: &str, password: &str) -> Option<Registry> {
        Self::launch(Some((user.to_owned(), password.to_owned())), None)
    }

    /// Start a registry that accepts only Bearer tokens from `tokens` (`auth: token:`);
    /// `user`/`password` are what the token server was started with.
    pub fn start_with_tokens(
        tokens: &super::token_auth::TokenServer,
        user: &str,
        password: &str,
    ) -> Option<Registry> {
        Self::launch(Some((user.to_owned(), password.to_owned())), Some(tokens))
    }

    fn launch(
        credentials: Option<(String, String)>,
        tokens: Option<&super::token_auth::TokenServer>,
    ) -> Option<Registry> {
        if Command::new(BINARY).arg("--version").output().is_err() {
            super::unavailable(
                "docker-registry",
                "install Debian's docker-registry package",
            );
            return None;
        }
        let dir = tempfile::tempdir().expect("registry dir");
        let auth = match (&credentials, tokens) {
            (_, Some(tokens)) => format!(
                "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
                tokens.realm(),
                super::token_auth::SERVICE,
                super::token_auth::ISSUER,
                tokens.certificate().display()
            ),
            (Some((user, password)), None) => {
                let htpasswd = dir.path().join("htpasswd");
                write_htpasswd(&htpasswd, user, password)?;
                format!(
                    "auth:\n  htpasswd:\n    realm: stevedore-test\n    path: {}\n",
                    htpasswd.display()
                )
            }
            (None, None) => String::new(),
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
            token_port: tokens.map(|t| t.port()),
        };
        registry.wait_ready();
        Some(registry)
    }

    /// `127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// GET `path` with optional basic auth; the status code.
    pub fn get_status(&self, path: &str, basic: Option<(&str, &str)>) -> u16 {
        http_status(self.port, path, basic).unwrap_or(0)
    }

    /// The `Authorization` header value the fixture uses to read `name`: basic, or a Bearer
    /// token from the token server.
    fn authorization(&self, name: &str) -> Option<String> {
        use base64::Engine;
        let (user, password) = self.credentials.as_ref()?;
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        let Some(token_port) = self.token_port else {
            return Some(basic);
        };
        let response = http_request(
            token_port,
            "GET",
            &format!(
                "/token?service={}&scope=repository:{name}:pull",
                super::token_auth::SERVICE
            ),
            Some(&basic),
            "",
        )?;
        let body = response.split("\r\n\r\n").nth(1)?;
        let json: serde_json::Value = serde_json::from_str(body).ok()?;
        Some(format!("Bearer {}", json["token"].as_str()?))
    }

    /// The registry's own digest for `name:reference` (`Docker-Content-Digest`), with the
    /// fixture's credentials when it has them.
    pub fn manifest_digest(&self, name: &str, reference: &str) -> Option<String> {
        let authorization = self.authorization(name);
        let response = http_request(
            self.port,
            "HEAD",
            &format!("/v2/{name}/manifests/{reference}"),
            authorization.as_deref(),
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
    let authorization = basic.map(|(u, p)| {
        use base64::Engine;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
        )
    });
    http_request(port, "GET", path, authorization.as_deref(), "")?
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
    authorization: Option<&str>,
    extra_headers: &str,
) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let auth = authorization
        .map(|value| format!("Authorization: {value}\r\n"))
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

/// A Docker credential helper `docker-credential-<name>` in a new directory (put it first on
/// `PATH`) that answers `get` with `user`/`password` for any server, as `credsStore` and
/// `credHelpers` entries name it.
pub fn credential_helper(name: &str, user: &str, password: &str) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new()
        .prefix("stevedore-helper-")
        .tempdir()
        .expect("helper dir");
    let path = dir.path().join(format!("docker-credential-{name}"));
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread -r server\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"{user}\",\"Secret\":\"{password}\"}}' \"$server\"\n"
        ),
    )
    .expect("write helper");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}
