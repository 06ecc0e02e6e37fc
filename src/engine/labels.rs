//! Labels stevedore puts on what it builds, so later commands can find and trust it.

/// The project name.
pub const PROJECT: &str = "org.stevedore.project";
/// The environment (`dev`, `prod`).
pub const ENVIRONMENT: &str = "org.stevedore.environment";
/// The service (`docker/<service>/`).
pub const SERVICE: &str = "org.stevedore.service";
/// The git commit the context was taken from (`release` refuses an image from another commit).
pub const COMMIT: &str = "org.stevedore.commit";
/// `true` when the work tree had uncommitted changes at build time.
pub const DIRTY: &str = "org.stevedore.dirty";
/// The stevedore version that built it.
pub const TOOL_VERSION: &str = "org.stevedore.version";
/// The release a `release` build is (OCI image spec annotation).
pub const OCI_VERSION: &str = "org.opencontainers.image.version";
/// The commit a `release` build came from (OCI image spec annotation).
pub const OCI_REVISION: &str = "org.opencontainers.image.revision";

/// The labels Docker Compose puts on what it creates. Stevedore uses the same names, so
/// `docker compose ps` and `docker-compose ps` see stevedore's containers as theirs.
pub mod compose {
    /// The Compose project (stevedore: the environment, unless `-p` or `name:` says otherwise).
    pub const PROJECT: &str = "com.docker.compose.project";
    /// The service.
    pub const SERVICE: &str = "com.docker.compose.service";
    /// The replica number (always 1: stevedore does not scale).
    pub const CONTAINER_NUMBER: &str = "com.docker.compose.container-number";
    /// `True` for one-off `run` containers, `False` otherwise (Compose's spelling).
    pub const ONEOFF: &str = "com.docker.compose.oneoff";
    /// The hash of the service's resolved configuration; a change means recreate.
    pub const CONFIG_HASH: &str = "com.docker.compose.config-hash";
    /// The tool and version that created it.
    pub const VERSION: &str = "com.docker.compose.version";
    /// The compose file's directory.
    pub const WORKING_DIR: &str = "com.docker.compose.project.working_dir";
    /// The compose file.
    pub const CONFIG_FILES: &str = "com.docker.compose.project.config_files";
    /// The network's key in the compose file.
    pub const NETWORK: &str = "com.docker.compose.network";
    /// The volume's key in the compose file.
    pub const VOLUME: &str = "com.docker.compose.volume";
}

/// A Docker repository name from free text: lower case, `[a-z0-9._-]`, no leading separator.
pub fn repository_name(text: &str) -> String {
    let mut name: String = text
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    while name.starts_with(['.', '_', '-']) {
        name.remove(0);
    }
    if name.is_empty() {
        "app".to_owned()
    } else {
        name
    }
}

/// The local tag of a service's image: `<project>-<service>:<env>`.
pub fn local_tag(project: &str, service: &str, env: &str) -> String {
    format!(
        "{}-{}:{}",
        repository_name(project),
        repository_name(service),
        tag_name(env)
    )
}

/// A valid tag from an environment name (tags allow `[A-Za-z0-9_.-]`, up to 128 characters).
fn tag_name(env: &str) -> String {
    env.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(128)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_tags_are_valid_references() {
        assert_eq!(local_tag("demo", "app", "dev"), "demo-app:dev");
        assert_eq!(
            local_tag("My Project", "Web_1", "prod"),
            "my-project-web_1:prod"
        );
        assert_eq!(local_tag("_x", "app", "qa.1"), "x-app:qa.1");
    }
}
