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
