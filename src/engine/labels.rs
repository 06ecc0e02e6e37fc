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
