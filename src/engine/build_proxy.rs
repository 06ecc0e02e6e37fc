//! The `proxies` of the Docker CLI's config.json, turned into build arguments as `docker build`
//! does: the entry for the daemon's address, else `default`; `httpProxy`, `httpsProxy`,
//! `noProxy`, `ftpProxy`, `allProxy` become `HTTP_PROXY`/`http_proxy` and so on, unless the
//! build already sets that argument.

use std::collections::HashMap;
use std::path::Path;

/// config.json field → build argument name (both cases are set, as the CLI sets them).
const FIELDS: &[(&str, &str)] = &[
    ("httpProxy", "HTTP_PROXY"),
    ("httpsProxy", "HTTPS_PROXY"),
    ("noProxy", "NO_PROXY"),
    ("ftpProxy", "FTP_PROXY"),
    ("allProxy", "ALL_PROXY"),
];

/// The proxy build arguments config.json in `config_dir` asks for when building on `host`.
/// A missing or unreadable file means none (its other readers report its errors).
pub fn proxy_build_args(config_dir: &Path, host: &str) -> HashMap<String, String> {
    let Ok(text) = std::fs::read_to_string(config_dir.join("config.json")) else {
        return HashMap::new();
    };
    let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
        return HashMap::new();
    };
    let Some(proxies) = value.get("proxies") else {
        return HashMap::new();
    };
    let Some(entry) = proxies.get(host).or_else(|| proxies.get("default")) else {
        return HashMap::new();
    };
    let mut args = HashMap::new();
    for (field, name) in FIELDS {
        if let Some(v) = entry
            .get(*field)
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
        {
            args.insert((*name).to_owned(), v.to_owned());
            args.insert(name.to_ascii_lowercase(), v.to_owned());
        }
    }
    args
}

/// Add the config.json proxies of the endpoint in use to `build_args`, keeping what is set.
pub fn add_proxy_build_args(build_args: &mut HashMap<String, String>) {
    let host = super::endpoint::resolve()
        .map(|e| e.host)
        .unwrap_or_default();
    let config_dir = super::endpoint::docker_config_dir();
    for (key, value) in proxy_build_args(&config_dir, &host) {
        build_args.entry(key).or_insert(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_and_per_host_proxies_become_build_args() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"proxies":{"default":{"httpProxy":"http://p:3128","noProxy":"localhost"},
                "tcp://remote:2376":{"httpsProxy":"http://q:8080"}}}"#,
        )
        .unwrap();
        let args = proxy_build_args(dir.path(), "unix:///var/run/docker.sock");
        assert_eq!(args["HTTP_PROXY"], "http://p:3128");
        assert_eq!(args["http_proxy"], "http://p:3128");
        assert_eq!(args["no_proxy"], "localhost");
        assert!(!args.contains_key("HTTPS_PROXY"));
        let args = proxy_build_args(dir.path(), "tcp://remote:2376");
        assert_eq!(args["HTTPS_PROXY"], "http://q:8080");
        assert!(!args.contains_key("HTTP_PROXY"));
        assert!(proxy_build_args(&dir.path().join("none"), "x").is_empty());
    }
}
