//! The session's registry Auth service (`moby.filesync.v1.Auth/Credentials`): when BuildKit
//! pulls a base image from a registry that asks for credentials, it calls back on the session
//! with the registry host and gets the user's `docker login` credentials, as the Docker CLI
//! serves them. Token-authority calls are answered "unimplemented", so BuildKit fetches registry
//! tokens itself with these credentials (what the Docker CLI does without a token authority).
//!
//! The credentials of the Dockerfile's base images are resolved once before the build (the same
//! ones the classic builder sends in `X-Registry-Config`); any other registry the build reaches
//! (`COPY --from=<image>`, `RUN --mount=from=<image>`) is resolved when the daemon asks.

use std::collections::HashMap;

use bollard::auth::DockerCredentials;
use tokio::sync::Mutex;

use super::proto::{self, Fields, Value};
use crate::registry::credentials::DOCKER_HUB;

/// Credentials by registry key (`host[:port]`, Docker Hub's config key for Hub); `None` is a
/// registry looked up and found anonymous.
pub struct RegistryAuth {
    known: Mutex<HashMap<String, Option<DockerCredentials>>>,
    /// The AWS profile for ECR registries resolved on demand.
    aws_profile: Option<String>,
}

impl RegistryAuth {
    /// Serves `resolved` (what the build already looked up), resolving other registries on
    /// demand.
    pub fn new(resolved: &HashMap<String, DockerCredentials>, aws_profile: Option<String>) -> Self {
        let known = resolved
            .iter()
            .map(|(registry, creds)| (registry.clone(), Some(creds.clone())))
            .collect();
        Self {
            known: Mutex::new(known),
            aws_profile,
        }
    }

    /// The `(username, secret)` for the registry `host` BuildKit names; empty when anonymous.
    /// An identity token goes as the secret with no user name, as the Docker CLI sends it.
    pub async fn credentials(&self, host: &str) -> (String, String) {
        let key = registry_key(host);
        let mut known = self.known.lock().await;
        let creds = match known.get(&key) {
            Some(found) => found.clone(),
            None => {
                let profile = self.aws_profile.as_deref();
                let found = crate::registry::build_auth::registry_credentials(&key, profile).await;
                known.insert(key, found.clone());
                found
            }
        };
        match creds {
            Some(DockerCredentials {
                identitytoken: Some(token),
                ..
            }) if !token.is_empty() => (String::new(), token),
            Some(creds) => (
                creds.username.unwrap_or_default(),
                creds.password.unwrap_or_default(),
            ),
            None => (String::new(), String::new()),
        }
    }
}

/// The Docker config key of the registry BuildKit calls `host`: Docker Hub's hosts map to its
/// `https://index.docker.io/v1/` key.
pub fn registry_key(host: &str) -> String {
    match host {
        "registry-1.docker.io" | "docker.io" | "index.docker.io" => DOCKER_HUB.to_owned(),
        other => other.to_owned(),
    }
}

/// The host of a `CredentialsRequest { string Host = 1; }`.
pub fn request_host(message: &[u8]) -> String {
    Fields::new(message)
        .find_map(|(field, value)| match (field, value) {
            (1, Value::Bytes(v)) => Some(proto::text(v)),
            _ => None,
        })
        .unwrap_or_default()
}

/// A `CredentialsResponse { string Username = 1; string Secret = 2; }`.
pub fn response(username: &str, secret: &str) -> Vec<u8> {
    let mut out = Vec::new();
    if !username.is_empty() {
        proto::put_bytes(&mut out, 1, username.as_bytes());
    }
    if !secret.is_empty() {
        proto::put_bytes(&mut out, 2, secret.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_hosts_map_to_the_config_key() {
        assert_eq!(registry_key("registry-1.docker.io"), DOCKER_HUB);
        assert_eq!(registry_key("127.0.0.1:5000"), "127.0.0.1:5000");
    }

    #[tokio::test]
    async fn serves_resolved_credentials_without_a_lookup() {
        let resolved = HashMap::from([(
            "127.0.0.1:5999".to_owned(),
            DockerCredentials {
                username: Some("builder".into()),
                password: Some("pw".into()),
                ..Default::default()
            },
        )]);
        let auth = RegistryAuth::new(&resolved, None);
        assert_eq!(
            auth.credentials("127.0.0.1:5999").await,
            ("builder".to_owned(), "pw".to_owned())
        );
        let encoded = response("builder", "pw");
        let fields: Vec<_> = Fields::new(&encoded).collect();
        assert_eq!(
            fields,
            vec![(1, Value::Bytes(b"builder")), (2, Value::Bytes(b"pw"))]
        );
        let mut request = Vec::new();
        proto::put_bytes(&mut request, 1, b"127.0.0.1:5999");
        assert_eq!(request_host(&request), "127.0.0.1:5999");
    }
}
