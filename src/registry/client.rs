//! A small Docker Registry HTTP API v2 client: does a manifest exist, and what is its digest.
//!
//! `publish` asks the registry itself for the manifest it just pushed (the daemon's word is not
//! proof), and `deploy` can resolve a tag to a digest. Basic auth and the Bearer token flow
//! (Docker Hub, GHCR, ECR via basic) are supported; loopback registries are spoken to over plain
//! HTTP, as the Docker daemon does, everything else over HTTPS.

use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode, header};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::credentials::DOCKER_HUB;
use crate::exit::{Coded, ExitStatus};

/// Manifest media types we accept (single-platform and index, Docker and OCI).
const ACCEPT: &str = "application/vnd.docker.distribution.manifest.v2+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json";

/// How long one registry request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Registry failures; all are exit 5.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry could not be reached.
    #[error("cannot reach registry {registry}: {reason}")]
    Unreachable {
        /// The registry host.
        registry: String,
        /// What failed.
        reason: String,
    },
    /// The registry refused the credentials.
    #[error(
        "registry {registry} refused the credentials ({status}); run `docker login {registry}` \
         with an account that can read {name}"
    )]
    Unauthorized {
        /// The registry host.
        registry: String,
        /// The repository.
        name: String,
        /// The HTTP status.
        status: u16,
    },
    /// Any other unexpected answer.
    #[error("registry {registry} answered {status} for {what}")]
    Unexpected {
        /// The registry host.
        registry: String,
        /// What was asked.
        what: String,
        /// The HTTP status.
        status: u16,
    },
}

impl Coded for RegistryError {
    fn exit_status(&self) -> ExitStatus {
        ExitStatus::Registry
    }
}

/// Credentials for one registry (never printed).
#[derive(Clone, Default)]
pub struct BasicAuth {
    /// User name.
    pub username: String,
    /// Password or token.
    pub password: String,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BasicAuth({}, ******)", self.username)
    }
}

/// What the registry said about a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manifest {
    /// It exists; the digest is the registry's `Docker-Content-Digest`.
    Found {
        /// `sha256:…`, when the registry sent it.
        digest: Option<String>,
    },
    /// It does not exist.
    NotFound,
}

/// Splits `host/name` references and talks to the registry.
pub struct RegistryClient {
    http: Client<hyper_rustls::HttpsConnector<super::proxy::ProxyConnector>, Empty<Bytes>>,
}

impl RegistryClient {
    /// A client trusting the system's root certificates, through the proxies the environment
    /// names (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`).
    pub fn new() -> Result<Self, RegistryError> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| RegistryError::Unreachable {
                registry: "any".into(),
                reason: format!("no TLS root certificates: {e}"),
            })?
            .https_or_http()
            .enable_http1()
            .wrap_connector(super::proxy::ProxyConnector::from_env());
        Ok(RegistryClient {
            http: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    /// Does `name:reference` (tag or digest) exist on `registry`?
    pub async fn manifest(
        &self,
        registry: &str,
        name: &str,
        reference: &str,
        auth: Option<&BasicAuth>,
    ) -> Result<Manifest, RegistryError> {
        let base = base_url(registry);
        let name = api_name(registry, name);
        let url = format!("{base}/v2/{name}/manifests/{reference}");
        let first = self.head(registry, &url, None).await?;
        let response = match first.status {
            StatusCode::UNAUTHORIZED => {
                let authorization = self
                    .authorize(registry, &name, first.challenge.as_deref(), auth)
                    .await?;
                self.head(registry, &url, authorization.as_deref()).await?
            }
            _ => first,
        };
        match response.status {
            StatusCode::OK => Ok(Manifest::Found {
                digest: response.digest,
            }),
            StatusCode::NOT_FOUND => Ok(Manifest::NotFound),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(RegistryError::Unauthorized {
                registry: registry.to_owned(),
                name,
                status: response.status.as_u16(),
            }),
            other => Err(RegistryError::Unexpected {
                registry: registry.to_owned(),
                what: format!("manifest {name}:{reference}"),
                status: other.as_u16(),
            }),
        }
    }

    /// The `Authorization` header for a challenge: Basic directly, Bearer through the token
    /// service named by the challenge.
    async fn authorize(
        &self,
        registry: &str,
        name: &str,
        challenge: Option<&str>,
        auth: Option<&BasicAuth>,
    ) -> Result<Option<String>, RegistryError> {
        let challenge = challenge.unwrap_or_default();
        let basic = auth.map(|a| format!("Basic {}", base64_basic(a)));
        if challenge.to_ascii_lowercase().starts_with("basic") {
            return Ok(basic);
        }
        let params = parse_challenge(challenge);
        let Some(realm) = params
            .iter()
            .find(|(k, _)| k == "realm")
            .map(|(_, v)| v.clone())
        else {
            return Ok(basic);
        };
        let mut url = format!("{realm}?scope=repository:{name}:pull");
        if let Some((_, service)) = params.iter().find(|(k, _)| k == "service") {
            url.push_str(&format!("&service={service}"));
        }
        let mut request = Request::get(&url);
        if let Some(basic) = &basic {
            request = request.header(header::AUTHORIZATION, basic);
        }
        let request = request
            .body(Empty::new())
            .map_err(|e| unreachable(registry, e))?;
        let response = tokio::time::timeout(REQUEST_TIMEOUT, self.http.request(request))
            .await
            .map_err(|_| unreachable(registry, "token request timed out"))?
            .map_err(|e| unreachable(registry, e))?;
        if !response.status().is_success() {
            return Err(RegistryError::Unauthorized {
                registry: registry.to_owned(),
                name: name.to_owned(),
                status: response.status().as_u16(),
            });
        }
        let body = tokio::time::timeout(REQUEST_TIMEOUT, response.into_body().collect())
            .await
            .map_err(|_| unreachable(registry, "token answer timed out"))?
            .map_err(|e| unreachable(registry, e))?
            .to_bytes();
        let json: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| unreachable(registry, e))?;
        let token = json["token"]
            .as_str()
            .or_else(|| json["access_token"].as_str());
        Ok(token.map(|t| format!("Bearer {t}")))
    }

    async fn head(
        &self,
        registry: &str,
        url: &str,
        authorization: Option<&str>,
    ) -> Result<Answer, RegistryError> {
        let mut request = Request::head(url).header(header::ACCEPT, ACCEPT);
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        let request = request
            .body(Empty::new())
            .map_err(|e| unreachable(registry, e))?;
        let response = tokio::time::timeout(REQUEST_TIMEOUT, self.http.request(request))
            .await
            .map_err(|_| unreachable(registry, "request timed out"))?
            .map_err(|e| unreachable(registry, e))?;
        let header_text = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Ok(Answer {
            status: response.status(),
            digest: header_text("docker-content-digest"),
            challenge: header_text("www-authenticate"),
        })
    }
}

struct Answer {
    status: StatusCode,
    digest: Option<String>,
    challenge: Option<String>,
}

fn unreachable(registry: &str, reason: impl std::fmt::Display) -> RegistryError {
    RegistryError::Unreachable {
        registry: registry.to_owned(),
        reason: reason.to_string(),
    }
}

fn base64_basic(auth: &BasicAuth) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", auth.username, auth.password))
}

/// The API base URL of a registry host: plain HTTP on loopback (as the daemon allows), the real
/// Docker Hub API host for Docker Hub.
pub fn base_url(registry: &str) -> String {
    if registry == DOCKER_HUB || registry == "docker.io" || registry == "index.docker.io" {
        return "https://registry-1.docker.io".to_owned();
    }
    let host = registry.rsplit_once(':').map_or(registry, |(h, _)| h);
    let loopback = host == "localhost" || host.starts_with("127.") || host == "[::1]";
    if loopback {
        format!("http://{registry}")
    } else {
        format!("https://{registry}")
    }
}

/// The repository path as the API wants it (Docker Hub's official images live under `library/`).
pub fn api_name(registry: &str, name: &str) -> String {
    if registry == DOCKER_HUB && !name.contains('/') {
        format!("library/{name}")
    } else {
        name.to_owned()
    }
}

/// `Bearer realm="…",service="…",scope="…"` → key/value pairs.
fn parse_challenge(challenge: &str) -> Vec<(String, String)> {
    let rest = challenge.split_once(' ').map_or("", |(_, rest)| rest);
    let mut pairs = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        let key: String = chars.by_ref().take_while(|&c| c != '=').collect::<String>();
        let key = key.trim().trim_start_matches(',').trim().to_owned();
        if key.is_empty() {
            break;
        }
        let value: String = if chars.peek() == Some(&'"') {
            chars.next();
            let v: String = chars.by_ref().take_while(|&c| c != '"').collect();
            // Skip to the next separator.
            while chars.peek().is_some_and(|&c| c != ',') {
                chars.next();
            }
            v
        } else {
            chars.by_ref().take_while(|&c| c != ',').collect()
        };
        pairs.push((key.to_ascii_lowercase(), value));
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_names() {
        assert_eq!(base_url("127.0.0.1:5000"), "http://127.0.0.1:5000");
        assert_eq!(base_url("localhost:5000"), "http://localhost:5000");
        assert_eq!(base_url("ghcr.io"), "https://ghcr.io");
        assert_eq!(base_url(DOCKER_HUB), "https://registry-1.docker.io");
        assert_eq!(api_name(DOCKER_HUB, "busybox"), "library/busybox");
        assert_eq!(api_name(DOCKER_HUB, "acme/app"), "acme/app");
        assert_eq!(api_name("ghcr.io", "acme/app"), "acme/app");
    }

    #[test]
    fn bearer_challenges_parse() {
        let pairs = parse_challenge(
            "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\",scope=\"repository:library/busybox:pull\"",
        );
        assert_eq!(
            pairs,
            vec![
                ("realm".into(), "https://auth.docker.io/token".into()),
                ("service".into(), "registry.docker.io".into()),
                ("scope".into(), "repository:library/busybox:pull".into()),
            ]
        );
    }

    #[test]
    fn credentials_never_show_in_debug() {
        let auth = BasicAuth {
            username: "ci".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{auth:?}").contains("hunter2"));
    }
}
