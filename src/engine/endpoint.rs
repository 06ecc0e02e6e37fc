//! Which Docker Engine to talk to, resolved the way the Docker CLI resolves it, and how to
//! reach it (`unix://`, `tcp://` with or without TLS, `ssh://`).
//!
//! The order is the CLI's (docker/cli `resolveContextName`):
//! 1. `--context`/`-c NAME`;
//! 2. `DOCKER_HOST` when non-empty (the `default` context pointed at it);
//! 3. `DOCKER_CONTEXT` when non-empty;
//! 4. `currentContext` of `config.json` in `DOCKER_CONFIG` (default `~/.docker`);
//! 5. the `default` context: `unix:///var/run/docker.sock`.
//!
//! A named context lives in the context store, `contexts/meta/<sha256 of name>/meta.json`, its
//! TLS material in `contexts/tls/<sha256 of name>/docker/{ca,cert,key}.pem`. The `default`
//! context uses TLS when `DOCKER_TLS_VERIFY` is non-empty, with the files of `DOCKER_CERT_PATH`
//! (default: the config directory).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use crate::exit::{Coded, ExitStatus};

/// The socket the `default` context uses when `DOCKER_HOST` is unset.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// The `--context` flag of this process, set once by the command line before any connection.
static CONTEXT_FLAG: OnceLock<Option<String>> = OnceLock::new();

/// Record the `--context` flag (later calls are ignored: one process, one command line).
pub fn set_context_flag(name: Option<String>) {
    let _ = CONTEXT_FLAG.set(name.filter(|n| !n.is_empty()));
}

/// Why this endpoint was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// `--context`/`-c`.
    ContextFlag,
    /// `DOCKER_HOST`.
    DockerHost,
    /// `DOCKER_CONTEXT`.
    DockerContext,
    /// `currentContext` of config.json (`docker context use`).
    ConfigFile,
    /// Nothing set: the local socket.
    Default,
}

/// Client certificates and the CA that signed the daemon's certificate.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TlsFiles {
    /// The directory holding `ca.pem`, `cert.pem` and `key.pem`.
    pub dir: PathBuf,
}

impl TlsFiles {
    fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
    fn cert(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }
    fn key(&self) -> PathBuf {
        self.dir.join("key.pem")
    }
}

/// The resolved Docker endpoint.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Endpoint {
    /// The context name (`default` unless a named context was chosen).
    pub context: String,
    /// The daemon address: `unix://…`, `tcp://…` or `ssh://…`.
    pub host: String,
    /// TLS material when the connection is TLS-protected.
    pub tls: Option<TlsFiles>,
    /// What chose it.
    pub source: Source,
}

impl Endpoint {
    /// One line for `doctor`, `config` and errors: the address, the context and why.
    pub fn describe(&self) -> String {
        let why = match self.source {
            Source::ContextFlag => format!("context \"{}\" from --context", self.context),
            Source::DockerHost => "DOCKER_HOST".to_owned(),
            Source::DockerContext => format!("context \"{}\" from DOCKER_CONTEXT", self.context),
            Source::ConfigFile => format!(
                "context \"{}\" from currentContext in config.json",
                self.context
            ),
            Source::Default => "the default socket".to_owned(),
        };
        let tls = match &self.tls {
            Some(tls) => format!(", TLS with {}", tls.dir.display()),
            None => String::new(),
        };
        format!("{} ({why}{tls})", self.host)
    }
}

/// Why no endpoint could be resolved.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// The named context is not in the store.
    #[error(
        "Docker context \"{name}\" (from {from}) does not exist: no {}. List contexts with \
         `docker context ls`, or create it with `docker context create {name} --docker \
         host=…`",
        .meta.display()
    )]
    NoSuchContext {
        /// The context name.
        name: String,
        /// Where the name came from.
        from: &'static str,
        /// The meta.json looked for.
        meta: PathBuf,
    },
    /// A file of the Docker configuration could not be read or parsed.
    #[error("cannot read the Docker configuration {}: {reason}. Fix or remove the file", .path.display())]
    BadConfig {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// TLS was asked for but a certificate file is missing.
    #[error(
        "{what} asks for TLS but {} does not exist. Put ca.pem, cert.pem and key.pem there{hint}",
        .path.display()
    )]
    MissingTlsFile {
        /// What asked for TLS.
        what: String,
        /// The missing file.
        path: PathBuf,
        /// How to point elsewhere.
        hint: &'static str,
    },
    /// The address has a scheme we cannot speak.
    #[error(
        "unsupported Docker host \"{host}\" ({why}); use unix:///path, tcp://host:port or \
         ssh://[user@]host[:port]"
    )]
    BadHost {
        /// The address.
        host: String,
        /// What is wrong with it.
        why: String,
    },
}

impl Coded for EndpointError {
    fn exit_status(&self) -> ExitStatus {
        ExitStatus::Engine
    }
}

/// What resolution reads, gathered once so that tests can supply it.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// `--context`.
    pub context_flag: Option<String>,
    /// The environment variables that matter (empty values count as unset).
    pub env: HashMap<String, String>,
    /// The Docker configuration directory (`DOCKER_CONFIG` or `~/.docker`).
    pub config_dir: PathBuf,
}

impl Inputs {
    /// This process's flag and environment.
    pub fn from_process() -> Self {
        let env: HashMap<String, String> = [
            "DOCKER_HOST",
            "DOCKER_CONTEXT",
            "DOCKER_TLS_VERIFY",
            "DOCKER_CERT_PATH",
        ]
        .into_iter()
        .filter_map(|k| {
            std::env::var(k)
                .ok()
                .filter(|v| !v.is_empty())
                .map(|v| (k.to_owned(), v))
        })
        .collect();
        Inputs {
            context_flag: CONTEXT_FLAG.get().cloned().flatten(),
            env,
            config_dir: docker_config_dir(),
        }
    }

    fn var(&self, key: &str) -> Option<&str> {
        self.env
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// `DOCKER_CONFIG`, or `~/.docker`.
pub fn docker_config_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").unwrap_or_default();
    PathBuf::from(home).join(".docker")
}

/// Resolve the endpoint of this process (flag, environment, config files).
pub fn resolve() -> Result<Endpoint, EndpointError> {
    resolve_from(&Inputs::from_process())
}

/// The endpoint for `config`: as JSON (with `error` when unresolved) and as one line.
pub fn report() -> (serde_json::Value, String) {
    match resolve() {
        Ok(endpoint) => (
            serde_json::json!({
                "host": endpoint.host,
                "context": endpoint.context,
                "source": endpoint.source,
                "tls_dir": endpoint.tls.as_ref().map(|t| &t.dir),
            }),
            endpoint.describe(),
        ),
        Err(err) => (
            serde_json::json!({ "error": err.to_string() }),
            format!("unresolved: {err}"),
        ),
    }
}

/// Resolve from explicit inputs, in the Docker CLI's order (see the module docs).
pub fn resolve_from(inputs: &Inputs) -> Result<Endpoint, EndpointError> {
    if let Some(name) = &inputs.context_flag {
        return named_or_default(inputs, name, Source::ContextFlag);
    }
    if inputs.var("DOCKER_HOST").is_some() {
        return default_context(inputs, Source::DockerHost);
    }
    if let Some(name) = inputs.var("DOCKER_CONTEXT") {
        return named_or_default(inputs, name, Source::DockerContext);
    }
    if let Some(name) = current_context(&inputs.config_dir)? {
        return named_or_default(inputs, &name, Source::ConfigFile);
    }
    default_context(inputs, Source::Default)
}

fn named_or_default(
    inputs: &Inputs,
    name: &str,
    source: Source,
) -> Result<Endpoint, EndpointError> {
    if name == "default" {
        // The reserved context: DOCKER_HOST or the local socket, as if nothing named it.
        let source = if inputs.var("DOCKER_HOST").is_some() {
            Source::DockerHost
        } else {
            source
        };
        return default_context(inputs, source);
    }
    named_context(&inputs.config_dir, name, source)
}

fn default_context(inputs: &Inputs, source: Source) -> Result<Endpoint, EndpointError> {
    let host = inputs.var("DOCKER_HOST").unwrap_or(DEFAULT_HOST).to_owned();
    let tls = if inputs.var("DOCKER_TLS_VERIFY").is_some() {
        let dir = inputs
            .var("DOCKER_CERT_PATH")
            .map(PathBuf::from)
            .unwrap_or_else(|| inputs.config_dir.clone());
        let tls = TlsFiles { dir };
        for path in [tls.ca(), tls.cert(), tls.key()] {
            if !path.is_file() {
                return Err(EndpointError::MissingTlsFile {
                    what: "DOCKER_TLS_VERIFY".into(),
                    path,
                    hint: ", or set DOCKER_CERT_PATH to the directory that holds them",
                });
            }
        }
        Some(tls)
    } else {
        None
    };
    Ok(Endpoint {
        context: "default".into(),
        host,
        tls,
        source,
    })
}

/// `currentContext` of config.json, if set.
fn current_context(config_dir: &Path) -> Result<Option<String>, EndpointError> {
    let path = config_dir.join("config.json");
    let text = match fs_err::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => {
            return Err(EndpointError::BadConfig {
                path,
                reason: err.to_string(),
            });
        }
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|err| EndpointError::BadConfig {
            path: path.clone(),
            reason: err.to_string(),
        })?;
    Ok(value
        .get("currentContext")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .map(str::to_owned))
}

/// The context store's directory name for a context: the hex SHA-256 of its name.
fn context_id(name: &str) -> String {
    hex::encode(Sha256::digest(name.as_bytes()))
}

fn named_context(config_dir: &Path, name: &str, source: Source) -> Result<Endpoint, EndpointError> {
    let id = context_id(name);
    let meta = config_dir
        .join("contexts")
        .join("meta")
        .join(&id)
        .join("meta.json");
    let from = match source {
        Source::ContextFlag => "--context",
        Source::DockerContext => "DOCKER_CONTEXT",
        _ => "currentContext in config.json",
    };
    let text = match fs_err::read_to_string(&meta) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(EndpointError::NoSuchContext {
                name: name.to_owned(),
                from,
                meta,
            });
        }
        Err(err) => {
            return Err(EndpointError::BadConfig {
                path: meta,
                reason: err.to_string(),
            });
        }
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|err| EndpointError::BadConfig {
            path: meta.clone(),
            reason: err.to_string(),
        })?;
    let docker = value.pointer("/Endpoints/docker");
    let host = docker
        .and_then(|d| d.get("Host"))
        .and_then(|h| h.as_str())
        .filter(|h| !h.is_empty())
        .ok_or_else(|| EndpointError::BadConfig {
            path: meta.clone(),
            reason: "no Endpoints.docker.Host".into(),
        })?
        .to_owned();
    if docker
        .and_then(|d| d.get("SkipTLSVerify"))
        .and_then(|v| v.as_bool())
        == Some(true)
    {
        return Err(EndpointError::BadConfig {
            path: meta,
            reason: "SkipTLSVerify is set; stevedore always verifies the daemon's certificate \
                     (store its CA with `docker context update --docker ca=…`)"
                .into(),
        });
    }
    let tls_dir = config_dir
        .join("contexts")
        .join("tls")
        .join(&id)
        .join("docker");
    let tls = if tls_dir.join("ca.pem").is_file() || tls_dir.join("cert.pem").is_file() {
        let tls = TlsFiles { dir: tls_dir };
        if !tls.ca().is_file() {
            return Err(EndpointError::MissingTlsFile {
                what: format!("context \"{name}\""),
                path: tls.ca(),
                hint: " (`docker context update --docker ca=…,cert=…,key=…`)",
            });
        }
        Some(tls)
    } else {
        None
    };
    Ok(Endpoint {
        context: name.to_owned(),
        host,
        tls,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(dir: &Path, env: &[(&str, &str)], flag: Option<&str>) -> Inputs {
        Inputs {
            context_flag: flag.map(str::to_owned),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            config_dir: dir.to_owned(),
        }
    }

    fn store(dir: &Path, name: &str, host: &str) {
        let meta = dir.join("contexts/meta").join(context_id(name));
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            format!(
                r#"{{"Name":"{name}","Metadata":{{}},"Endpoints":{{"docker":{{"Host":"{host}","SkipTLSVerify":false}}}}}}"#
            ),
        )
        .unwrap();
    }

    #[test]
    fn order_is_the_docker_clis() {
        let dir = tempfile::tempdir().unwrap();
        store(dir.path(), "flag", "tcp://flag:1");
        store(dir.path(), "env", "tcp://env:1");
        store(dir.path(), "cfg", "tcp://cfg:1");
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"currentContext":"cfg"}"#,
        )
        .unwrap();
        let all = [("DOCKER_HOST", "tcp://host:1"), ("DOCKER_CONTEXT", "env")];
        let e = resolve_from(&inputs(dir.path(), &all, Some("flag"))).unwrap();
        assert_eq!(
            (e.host.as_str(), e.source),
            ("tcp://flag:1", Source::ContextFlag)
        );
        let e = resolve_from(&inputs(dir.path(), &all, None)).unwrap();
        assert_eq!(
            (e.host.as_str(), e.source),
            ("tcp://host:1", Source::DockerHost)
        );
        let e = resolve_from(&inputs(dir.path(), &all[1..], None)).unwrap();
        assert_eq!(
            (e.host.as_str(), e.source),
            ("tcp://env:1", Source::DockerContext)
        );
        // An empty DOCKER_HOST counts as unset.
        let e = resolve_from(&inputs(dir.path(), &[("DOCKER_HOST", "")], None)).unwrap();
        assert_eq!(
            (e.host.as_str(), e.source),
            ("tcp://cfg:1", Source::ConfigFile)
        );
        std::fs::remove_file(dir.path().join("config.json")).unwrap();
        let e = resolve_from(&inputs(dir.path(), &[], None)).unwrap();
        assert_eq!((e.host.as_str(), e.source), (DEFAULT_HOST, Source::Default));
    }

    #[test]
    fn missing_context_and_tls_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = resolve_from(&inputs(dir.path(), &[("DOCKER_CONTEXT", "nope")], None))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"nope\"") && err.contains("DOCKER_CONTEXT"),
            "{err}"
        );
        let err = resolve_from(&inputs(
            dir.path(),
            &[("DOCKER_HOST", "tcp://h:2376"), ("DOCKER_TLS_VERIFY", "1")],
            None,
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("ca.pem") && err.contains("DOCKER_CERT_PATH"),
            "{err}"
        );
    }

    #[test]
    fn context_id_is_sha256_of_the_name() {
        // `docker context create x` stores x under sha256("x").
        assert_eq!(
            context_id("x"),
            "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
        );
    }
}
