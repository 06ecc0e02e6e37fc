//! Registry credentials the way the Docker CLI finds them: `auths`, `credsStore` and
//! `credHelpers` in `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`).

/// The key Docker uses for Docker Hub in config.json.
pub const DOCKER_HUB: &str = "https://index.docker.io/v1/";

/// The registry host of an image repository: the first path component when it looks like a
/// host (has `.` or `:`, or is `localhost`), else Docker Hub.
pub fn registry_of(repository: &str) -> String {
    match repository.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first.to_owned(),
        _ => DOCKER_HUB.to_owned(),
    }
}

/// Whether `registry` is an Amazon ECR registry (its token comes from AWS, not config.json).
pub fn is_ecr(registry: &str) -> bool {
    let host = registry.split(':').next().unwrap_or(registry);
    host.contains(".dkr.ecr.")
        && (host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn"))
}

/// What the Docker config says about a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// A username/password pair is configured (the values are never shown).
    UsernamePassword {
        /// The user name (not secret).
        username: String,
    },
    /// An identity token is configured.
    IdentityToken,
    /// Nothing is configured for this registry.
    NotConfigured,
    /// The config or its helper failed.
    Failed(String),
}

/// Look up credentials for `registry`. Blocking (it may run a credential helper): call it from
/// a blocking thread in async code.
pub fn lookup(registry: &str) -> Lookup {
    match docker_credential::get_credential(registry) {
        Ok(docker_credential::DockerCredential::UsernamePassword(username, _)) => {
            Lookup::UsernamePassword { username }
        }
        Ok(docker_credential::DockerCredential::IdentityToken(_)) => Lookup::IdentityToken,
        Err(docker_credential::CredentialRetrievalError::NoCredentialConfigured)
        | Err(docker_credential::CredentialRetrievalError::ConfigNotFound)
        | Err(docker_credential::CredentialRetrievalError::ConfigReadError) => {
            Lookup::NotConfigured
        }
        Err(other) => Lookup::Failed(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_host_of_a_repository() {
        let table = [
            ("0xadada/dockdj", DOCKER_HUB),
            ("library/busybox", DOCKER_HUB),
            ("localhost:5000/demo", "localhost:5000"),
            ("localhost/demo", "localhost"),
            ("127.0.0.1:5000/a/b", "127.0.0.1:5000"),
            ("ghcr.io/acme/app", "ghcr.io"),
            (
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app",
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            ),
            ("demo", DOCKER_HUB),
        ];
        for (repo, want) in table {
            assert_eq!(registry_of(repo), want, "{repo}");
        }
    }

    #[test]
    fn ecr_detection() {
        assert!(is_ecr("123456789012.dkr.ecr.eu-west-1.amazonaws.com"));
        assert!(!is_ecr("localhost:5000"));
        assert!(!is_ecr("ecr.example.com"));
    }
}

/// Credentials usable for a push or a registry request. The password never prints.
#[derive(Clone, PartialEq, Eq)]
pub enum Resolved {
    /// Nothing configured: try anonymously.
    Anonymous,
    /// User name and password (or token).
    Basic {
        /// User name.
        username: String,
        /// Password or token.
        password: String,
    },
    /// An identity token (OAuth refresh token) from `docker login`.
    IdentityToken(String),
}

impl std::fmt::Debug for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Resolved::Anonymous => write!(f, "Anonymous"),
            Resolved::Basic { username, .. } => write!(f, "Basic({username}, ******)"),
            Resolved::IdentityToken(_) => write!(f, "IdentityToken(******)"),
        }
    }
}

/// The Docker CLI's config file: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub fn config_path() -> Option<std::path::PathBuf> {
    match std::env::var_os("DOCKER_CONFIG") {
        Some(dir) => Some(std::path::PathBuf::from(dir).join("config.json")),
        None => std::env::var_os("HOME")
            .map(|h| std::path::PathBuf::from(h).join(".docker/config.json")),
    }
}

/// Resolve credentials for `registry` from the Docker config (auths, credsStore, credHelpers).
/// Blocking (may run a credential helper). No config file means anonymous.
pub fn resolve(registry: &str) -> Result<Resolved, String> {
    if config_path().is_none_or(|p| !p.exists()) {
        return Ok(Resolved::Anonymous);
    }
    match docker_credential::get_credential(registry) {
        Ok(docker_credential::DockerCredential::UsernamePassword(username, password)) => {
            Ok(Resolved::Basic { username, password })
        }
        Ok(docker_credential::DockerCredential::IdentityToken(token)) => {
            Ok(Resolved::IdentityToken(token))
        }
        Err(docker_credential::CredentialRetrievalError::NoCredentialConfigured)
        | Err(docker_credential::CredentialRetrievalError::ConfigNotFound) => {
            Ok(Resolved::Anonymous)
        }
        Err(other) => Err(other.to_string()),
    }
}

impl Resolved {
    /// As bollard's push credentials.
    pub fn to_docker(&self, registry: &str) -> Option<bollard::auth::DockerCredentials> {
        let base = bollard::auth::DockerCredentials {
            serveraddress: Some(registry.to_owned()),
            ..Default::default()
        };
        match self {
            Resolved::Anonymous => None,
            Resolved::Basic { username, password } => Some(bollard::auth::DockerCredentials {
                username: Some(username.clone()),
                password: Some(password.clone()),
                ..base
            }),
            Resolved::IdentityToken(token) => Some(bollard::auth::DockerCredentials {
                identitytoken: Some(token.clone()),
                ..base
            }),
        }
    }

    /// As basic auth for the registry API (identity tokens are not basic credentials).
    pub fn to_basic(&self) -> Option<super::client::BasicAuth> {
        match self {
            Resolved::Basic { username, password } => Some(super::client::BasicAuth {
                username: username.clone(),
                password: password.clone(),
            }),
            _ => None,
        }
    }
}
