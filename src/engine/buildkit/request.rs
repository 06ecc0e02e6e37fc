//! The query of `POST /build?version=2` for a build whose context comes from the session.

use super::super::build::BuildRequest;

/// Percent-encodes a query value (RFC 3986 unreserved characters pass through).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The query string for `request`, built in `session` with the Dockerfile synced as
/// `dockerfile_name` in the session's `dockerfile` directory.
pub fn build_query(request: &BuildRequest, session: &str, dockerfile_name: &str) -> String {
    let mut params: Vec<(&str, String)> = vec![
        ("version", "2".to_owned()),
        ("session", session.to_owned()),
        ("remote", "client-session".to_owned()),
        ("dockerfile", dockerfile_name.to_owned()),
        ("t", request.tag.clone()),
        ("rm", "1".to_owned()),
        ("forcerm", "1".to_owned()),
        ("buildid", session.to_owned()),
    ];
    if request.no_cache {
        params.push(("nocache", "1".to_owned()));
    }
    if request.pull {
        params.push(("pull", "1".to_owned()));
    }
    if let Some(target) = &request.target {
        params.push(("target", target.clone()));
    }
    let settings = &request.settings;
    if let Some(platform) = &settings.platform {
        params.push(("platform", platform.clone()));
    }
    if !settings.cache_from.is_empty() {
        params.push((
            "cachefrom",
            serde_json::to_string(&settings.cache_from).unwrap_or_default(),
        ));
    }
    if let Some(network) = &settings.network {
        params.push(("networkmode", network.clone()));
    }
    // The Engine reads `extrahosts` as a repeated parameter.
    for host in &settings.extra_hosts {
        params.push(("extrahosts", host.clone()));
    }
    if let Some(size) = settings.shm_size {
        params.push(("shmsize", size.to_string()));
    }
    if !request.labels.is_empty() {
        params.push((
            "labels",
            serde_json::to_string(&request.labels).unwrap_or_default(),
        ));
    }
    if !request.build_args.is_empty() {
        params.push((
            "buildargs",
            serde_json::to_string(&request.build_args).unwrap_or_default(),
        ));
    }
    params
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_reserved_characters() {
        assert_eq!(encode("a b/c:{\"x\"}"), "a%20b%2Fc%3A%7B%22x%22%7D");
    }
}
