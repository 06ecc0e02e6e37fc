//! Docker image references (`[registry/]path[:tag][@sha256:…]`), enough to tell our images from
//! others and whether a reference is pinned by digest.

use std::fmt;

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// The repository, registry host included when written (`127.0.0.1:5000/team/app`).
    pub repository: String,
    /// The tag, when written.
    pub tag: Option<String>,
    /// The digest (`sha256:<64 hex>`), when written.
    pub digest: Option<String>,
}

impl ImageRef {
    /// Split `text` into repository, tag and digest. The tag is the part after the last `:`
    /// that follows the last `/` (so a registry port is never mistaken for a tag).
    pub fn parse(text: &str) -> ImageRef {
        let text = text.trim();
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => (rest, Some(digest.to_owned())),
            None => (text, None),
        };
        let slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match rest[slash..].rfind(':') {
            Some(colon) => (
                rest[..slash + colon].to_owned(),
                Some(rest[slash + colon + 1..].to_owned()),
            ),
            None => (rest.to_owned(), None),
        };
        ImageRef {
            repository,
            tag,
            digest,
        }
    }

    /// Whether the reference names one exact manifest (`@sha256:` and 64 hex digits).
    pub fn is_pinned(&self) -> bool {
        self.digest.as_deref().is_some_and(is_sha256_digest)
    }

    /// Whether `self` and `other` name the same repository, with Docker Hub's short forms
    /// (`nginx`, `library/nginx`, `docker.io/library/nginx`) taken as equal.
    pub fn same_repository(&self, other: &ImageRef) -> bool {
        normalise_repository(&self.repository) == normalise_repository(&other.repository)
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// `sha256:` followed by 64 lowercase hex digits.
pub fn is_sha256_digest(text: &str) -> bool {
    text.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn normalise_repository(repository: &str) -> String {
    let first = repository.split('/').next().unwrap_or_default();
    let has_registry = repository.contains('/')
        && (first.contains('.') || first.contains(':') || first == "localhost");
    let path = if has_registry {
        repository.to_owned()
    } else {
        format!("docker.io/{repository}")
    };
    let path = path
        .strip_prefix("index.docker.io/")
        .map(|p| format!("docker.io/{p}"))
        .unwrap_or(path);
    match path.strip_prefix("docker.io/") {
        Some(rest) if !rest.contains('/') => format!("docker.io/library/{rest}"),
        _ => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn parses_the_reference_forms() {
        let table = [
            ("nginx", "nginx", None, None),
            ("nginx:1.27", "nginx", Some("1.27"), None),
            (
                "127.0.0.1:5000/team/app:1.0.0",
                "127.0.0.1:5000/team/app",
                Some("1.0.0"),
                None,
            ),
            (
                "127.0.0.1:5000/team/app",
                "127.0.0.1:5000/team/app",
                None,
                None,
            ),
            (
                &format!("localhost:5000/app@{DIGEST}"),
                "localhost:5000/app",
                None,
                Some(DIGEST),
            ),
            (
                &format!("repo/app:1.0@{DIGEST}"),
                "repo/app",
                Some("1.0"),
                Some(DIGEST),
            ),
        ];
        for (text, repository, tag, digest) in table {
            let r = ImageRef::parse(text);
            assert_eq!(r.repository, repository, "{text}");
            assert_eq!(r.tag.as_deref(), tag, "{text}");
            assert_eq!(r.digest.as_deref(), digest, "{text}");
            assert_eq!(r.to_string(), text);
        }
    }

    #[test]
    fn pinned_only_with_a_full_sha256() {
        assert!(ImageRef::parse(&format!("a@{DIGEST}")).is_pinned());
        assert!(!ImageRef::parse("a@sha256:abc").is_pinned());
        assert!(!ImageRef::parse("a:latest").is_pinned());
    }

    #[test]
    fn docker_hub_short_forms_are_one_repository() {
        let same = |a: &str, b: &str| ImageRef::parse(a).same_repository(&ImageRef::parse(b));
        assert!(same("nginx", "docker.io/library/nginx:1"));
        assert!(same("library/nginx", "index.docker.io/nginx"));
        assert!(same("acme/app", "docker.io/acme/app"));
        assert!(!same("acme/app", "localhost:5000/acme/app"));
        assert!(same(
            "localhost:5000/acme/app:1",
            "localhost:5000/acme/app@sha256:x"
        ));
    }
}
