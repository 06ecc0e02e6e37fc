//! Image references and registry checks: does the manifest for this tag or digest exist, asked
//! over the registry v2 HTTP API with the Accept headers Docker sends and basic auth when the
//! bundle (or the options) give credentials.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::http;

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry host (`docker.io` when none is written).
    pub host: String,
    /// Repository path (`library/x` on Docker Hub).
    pub repository: String,
    /// Tag (`latest` when neither tag nor digest is written).
    pub tag: Option<String>,
    /// `sha256:…`.
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parse `[host[:port]/]path[:tag][@digest]` as Docker does.
    pub fn parse(text: &str) -> Result<ImageRef, String> {
        let text = text.trim();
        let (name, digest) = match text.split_once('@') {
            Some((n, d)) => (n, Some(d.to_owned())),
            None => (text, None),
        };
        if let Some(d) = &digest {
            let valid = d
                .strip_prefix("sha256:")
                .is_some_and(|h| h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()));
            if !valid {
                return Err(format!("invalid reference format: bad digest in {text}"));
            }
        }
        let (host, path) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_owned(), rest)
            }
            _ => ("docker.io".to_owned(), name),
        };
        let (path, tag) = match path.rsplit_once(':') {
            Some((p, t)) if !t.contains('/') => (p, Some(t.to_owned())),
            _ => (path, None),
        };
        let valid_path = !path.is_empty()
            && path.split('/').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
            });
        if !valid_path {
            return Err(format!("invalid reference format: {text}"));
        }
        let repository = if host == "docker.io" && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_owned()
        };
        let tag = match (&tag, &digest) {
            (None, None) => Some("latest".to_owned()),
            _ => tag,
        };
        Ok(ImageRef {
            host,
            repository,
            tag,
            digest,
        })
    }

    /// The manifest reference to ask for: the digest when pinned, else the tag.
    pub fn reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }

    /// `host/repository` as the engine names it.
    pub fn repository_with_host(&self) -> String {
        format!("{}/{}", self.host, self.repository)
    }
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.host, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// User and password for one registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Basic {
    /// User.
    pub username: String,
    /// Password.
    pub password: String,
}

/// Registry credentials from a docker `config.json` (`{"auths": {host: {auth}}}`) or an old
/// `.dockercfg` (`{host: {auth, email}}`), keyed by host without scheme.
pub fn parse_auth_file(text: &str) -> Result<BTreeMap<String, Basic>, String> {
    let doc: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| format!("the registry auth file is not JSON: {e}"))?;
    let entries = doc
        .get("auths")
        .and_then(|a| a.as_object())
        .or_else(|| doc.as_object())
        .ok_or("the registry auth file has no auths")?;
    let mut out = BTreeMap::new();
    for (host, entry) in entries {
        let basic = if let Some(auth) = entry.get("auth").and_then(|a| a.as_str()) {
            let decoded = STANDARD
                .decode(auth)
                .ok()
                .and_then(|d| String::from_utf8(d).ok())
                .ok_or_else(|| format!("the auth for {host} is not base64 of user:password"))?;
            let (u, p) = decoded
                .split_once(':')
                .ok_or_else(|| format!("the auth for {host} is not user:password"))?;
            Basic {
                username: u.to_owned(),
                password: p.to_owned(),
            }
        } else {
            let field = |k: &str| entry.get(k).and_then(|v| v.as_str()).map(str::to_owned);
            match (field("username"), field("password")) {
                (Some(username), Some(password)) => Basic { username, password },
                _ => continue,
            }
        };
        let host = host
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .trim_end_matches("/v1")
            .trim_end_matches("/v2")
            .to_owned();
        out.insert(host, basic);
    }
    Ok(out)
}

/// The media types Docker accepts for a manifest (schema 2, lists, OCI).
const ACCEPT: &str = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json";

/// Check that `image`'s manifest exists; the digest the registry reports on success.
pub async fn resolve(image: &ImageRef, auth: Option<&Basic>) -> Result<String, String> {
    if !http::is_loopback(&image.host) {
        // Never leave the machine: EB would pull from there, the emulator cannot.
        return Err(format!(
            "{image}: registry {} is not on loopback; the emulator resolves only 127.0.0.1 registries",
            image.host
        ));
    }
    let path = format!("/v2/{}/manifests/{}", image.repository, image.reference());
    let mut headers = vec![("accept", ACCEPT.to_owned())];
    if let Some(auth) = auth {
        let token = STANDARD.encode(format!("{}:{}", auth.username, auth.password));
        headers.push(("authorization", format!("Basic {token}")));
    }
    let response = http::request(
        "HEAD",
        &image.host,
        &path,
        &headers,
        Duration::from_secs(10),
    )
    .await?;
    match response.status {
        200 => Ok(response
            .header("docker-content-digest")
            .map(str::to_owned)
            .or_else(|| image.digest.clone())
            .unwrap_or_default()),
        401 | 403 => Err(format!(
            "{image}: the registry refused {} (no basic auth credentials or wrong ones)",
            if auth.is_some() {
                "the credentials"
            } else {
                "an anonymous pull"
            }
        )),
        404 => Err(format!(
            "{image}: manifest unknown (no such tag or digest in the registry)"
        )),
        other => Err(format!("{image}: the registry answered HTTP {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_like_docker() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let r = ImageRef::parse(&format!("127.0.0.1:5000/team/app@{digest}")).expect("ok");
        assert_eq!(
            (r.host.as_str(), r.repository.as_str(), r.tag.as_deref()),
            ("127.0.0.1:5000", "team/app", None)
        );
        assert_eq!(r.reference(), digest);
        let r = ImageRef::parse("busybox").expect("ok");
        assert_eq!(
            (r.host.as_str(), r.repository.as_str(), r.reference()),
            ("docker.io", "library/busybox", "latest")
        );
        let r = ImageRef::parse("localhost:5000/a:v1").expect("ok");
        assert_eq!((r.host.as_str(), r.reference()), ("localhost:5000", "v1"));
        assert!(ImageRef::parse("127.0.0.1:5000/a@sha256:xyz").is_err());
        assert!(ImageRef::parse("127.0.0.1:5000/UPPER:1").is_err());
    }

    #[test]
    fn auth_files_in_both_formats() {
        let token = STANDARD.encode("u:p");
        let new = parse_auth_file(&format!(
            r#"{{"auths":{{"https://127.0.0.1:5000":{{"auth":"{token}"}}}}}}"#
        ))
        .expect("ok");
        let old = parse_auth_file(&format!(
            r#"{{"127.0.0.1:5000":{{"auth":"{token}","email":"x"}}}}"#
        ))
        .expect("ok");
        let expected = Basic {
            username: "u".into(),
            password: "p".into(),
        };
        assert_eq!(new.get("127.0.0.1:5000"), Some(&expected));
        assert_eq!(old.get("127.0.0.1:5000"), Some(&expected));
    }
}
