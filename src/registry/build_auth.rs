//! Registry credentials for a build (`X-Registry-Config`): the daemon pulls the base images
//! itself, so it needs the user's credentials for every registry a `FROM` names, as the Docker
//! CLI sends them. The base images are read from the Dockerfile, with global `ARG` defaults
//! and the build's arguments substituted (`FROM ${BASE_IMAGE}`).

use std::collections::{BTreeSet, HashMap};

use bollard::auth::DockerCredentials;

use super::credentials::{self, Resolved};

/// The images the `FROM` lines of `dockerfile` name (stage names excluded).
pub fn base_images(dockerfile: &str, build_args: &HashMap<String, String>) -> Vec<String> {
    let mut args: HashMap<String, String> = HashMap::new();
    let mut stages: BTreeSet<String> = BTreeSet::new();
    let mut images = Vec::new();
    let mut seen_from = false;
    for line in dockerfile.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(instruction) = words.first() else {
            continue;
        };
        if instruction.eq_ignore_ascii_case("ARG") && !seen_from {
            if let Some(decl) = words.get(1) {
                let (name, default) = decl.split_once('=').unwrap_or((decl, ""));
                let value = build_args
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| default.trim_matches('"').to_owned());
                args.insert(name.to_owned(), value);
            }
        } else if instruction.eq_ignore_ascii_case("FROM") {
            seen_from = true;
            let rest: Vec<&str> = words[1..]
                .iter()
                .copied()
                .filter(|w| !w.starts_with("--"))
                .collect();
            let Some(image) = rest.first() else { continue };
            let image = substitute(image, &args);
            if let (Some(as_kw), Some(stage)) = (rest.get(1), rest.get(2))
                && as_kw.eq_ignore_ascii_case("AS")
            {
                stages.insert(stage.to_ascii_lowercase());
            }
            if !image.is_empty()
                && image != "scratch"
                && !stages.contains(&image.to_ascii_lowercase())
            {
                images.push(image);
            }
        }
    }
    images
}

/// `$NAME` and `${NAME}` from `args` (unknown names become empty, as in Docker).
fn substitute(text: &str, args: &HashMap<String, String>) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let braced = chars.peek() == Some(&'{');
        if braced {
            chars.next();
        }
        let mut name = String::new();
        while let Some(&n) = chars.peek() {
            if n.is_ascii_alphanumeric() || n == '_' {
                name.push(n);
                chars.next();
            } else {
                break;
            }
        }
        if braced && chars.peek() == Some(&'}') {
            chars.next();
        }
        out.push_str(args.get(&name).map(String::as_str).unwrap_or_default());
    }
    out
}

/// Credentials for each registry the base images live on, keyed as the daemon expects
/// (`host[:port]`, Docker Hub's config key for Hub). Registries without credentials are left
/// out (anonymous pulls); a failing credential helper is reported by the caller's pull error.
/// ECR registries are logged in to with `aws_profile` (the environment's AWS profile).
pub async fn build_credentials(
    images: &[String],
    aws_profile: Option<&str>,
) -> HashMap<String, DockerCredentials> {
    let registries: BTreeSet<String> = images.iter().map(|i| credentials::registry_of(i)).collect();
    let mut found = HashMap::new();
    for registry in registries {
        if let Some(creds) = registry_credentials(&registry, aws_profile).await {
            found.insert(registry, creds);
        }
    }
    found
}

/// The user's credentials for one registry (`host[:port]`, or Docker Hub's config key): from
/// AWS for ECR (with `aws_profile`), else from the Docker config. `None` means an anonymous
/// pull.
pub async fn registry_credentials(
    registry: &str,
    aws_profile: Option<&str>,
) -> Option<DockerCredentials> {
    let resolved = if credentials::is_ecr(registry) {
        super::ecr::login(registry, aws_profile).await.ok()
    } else {
        let key = registry.to_owned();
        tokio::task::spawn_blocking(move || credentials::resolve(&key))
            .await
            .ok()
            .and_then(Result::ok)
    };
    resolved
        .filter(|r| *r != Resolved::Anonymous)
        .and_then(|r| r.to_docker(registry))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_lines_with_args_and_stages() {
        let dockerfile = "ARG BASE_IMAGE=busybox:1.36\nARG TAG\nFROM ${BASE_IMAGE} AS build\n\
                          FROM --platform=linux/amd64 registry.example.com/app:$TAG\n\
                          FROM build\nFROM scratch\n";
        let args = HashMap::from([("TAG".to_owned(), "7".to_owned())]);
        assert_eq!(
            base_images(dockerfile, &args),
            vec!["busybox:1.36", "registry.example.com/app:7"]
        );
        let args = HashMap::from([("BASE_IMAGE".to_owned(), "127.0.0.1:5000/b:1".to_owned())]);
        assert_eq!(base_images(dockerfile, &args)[0], "127.0.0.1:5000/b:1");
    }
}
