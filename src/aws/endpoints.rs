//! Which endpoint each AWS service stevedore calls would use, and why, decided offline the way
//! the SDK's standard chain decides it (so `doctor` and `config` can show it; the SDK clients
//! themselves are never given an endpoint by stevedore, they read the same sources).
//!
//! Order, first found wins (aws-config 1.x, `EnvConfigValue`):
//! 1. `AWS_ENDPOINT_URL_<SERVICE>` (e.g. `AWS_ENDPOINT_URL_ELASTIC_BEANSTALK`)
//! 2. `AWS_ENDPOINT_URL`
//! 3. the profile's `services = <name>` → `[services <name>]` → `<service> =` → `endpoint_url`
//! 4. the profile's `endpoint_url`
//! 5. the AWS default for the region.
//!
//! `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` (or the profile's `ignore_configured_endpoint_urls`)
//! turns 1-4 off.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A service stevedore calls: its SDK service id, as the variable and config key spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    /// The name shown (`elastic_beanstalk`): also the key in a `[services]` section.
    pub key: &'static str,
    /// `AWS_ENDPOINT_URL_<SUFFIX>`.
    pub env_suffix: &'static str,
}

/// The services stevedore's AWS calls reach: deploys (Elastic Beanstalk, S3), ECR pushes, and
/// STS, which the credential chain calls for assumed roles and web identity.
pub const SERVICES: &[Service] = &[
    Service {
        key: "elastic_beanstalk",
        env_suffix: "ELASTIC_BEANSTALK",
    },
    Service {
        key: "s3",
        env_suffix: "S3",
    },
    Service {
        key: "ecr",
        env_suffix: "ECR",
    },
    Service {
        key: "sts",
        env_suffix: "STS",
    },
];

/// One service's endpoint and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServiceEndpoint {
    /// The service key, e.g. `s3`.
    pub service: &'static str,
    /// The URL, or `None` for the AWS default.
    pub url: Option<String>,
    /// Where it came from: a variable, a file and section, or the default.
    pub source: String,
}

impl ServiceEndpoint {
    /// `s3: http://127.0.0.1:9000 (AWS_ENDPOINT_URL_S3)`.
    pub fn line(&self) -> String {
        format!(
            "{}: {} ({})",
            self.service,
            self.url.as_deref().unwrap_or("AWS default"),
            self.source
        )
    }
}

/// Resolve every service of [`SERVICES`] for `profile` (None: `AWS_PROFILE`, else `default`),
/// reading variables through `env` and `~/.aws/config` (or `AWS_CONFIG_FILE`) under `home`.
pub fn resolve(
    profile: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
    home: Option<&Path>,
) -> Vec<ServiceEndpoint> {
    let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let name = profile
        .map(str::to_owned)
        .or_else(|| var("AWS_PROFILE"))
        .unwrap_or_else(|| "default".to_owned());
    let config_file = var("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| home.map(|h| h.join(".aws/config")));
    let sections = config_file
        .as_ref()
        .and_then(|f| std::fs::read_to_string(f).ok())
        .map(|text| super::credentials::parse_ini(&text))
        .unwrap_or_default();
    let file_name = config_file
        .as_ref()
        .map(|f| f.display().to_string())
        .unwrap_or_default();
    let empty = HashMap::new();
    let section = sections
        .get(&format!("profile {name}"))
        .or_else(|| {
            (name == "default")
                .then(|| sections.get("default"))
                .flatten()
        })
        .unwrap_or(&empty);
    let ignored = var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .or_else(|| section.get("ignore_configured_endpoint_urls").cloned())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let services_name = section.get("services").filter(|v| !v.is_empty());
    let services = services_name.and_then(|s| sections.get(&format!("services {s}")));
    SERVICES
        .iter()
        .map(|service| {
            let found = |url: Option<String>, source: String| {
                url.map(|url| ServiceEndpoint {
                    service: service.key,
                    url: Some(url),
                    source,
                })
            };
            let specific = format!("AWS_ENDPOINT_URL_{}", service.env_suffix);
            let configured = (!ignored)
                .then(|| {
                    found(var(&specific), specific.clone())
                        .or_else(|| found(var("AWS_ENDPOINT_URL"), "AWS_ENDPOINT_URL".into()))
                        .or_else(|| {
                            found(
                                services
                                    .and_then(|s| s.get(&format!("{}.endpoint_url", service.key)))
                                    .cloned(),
                                format!(
                                    "[services {}] {}.endpoint_url in {file_name}",
                                    services_name.map(String::as_str).unwrap_or_default(),
                                    service.key
                                ),
                            )
                        })
                        .or_else(|| {
                            found(
                                section.get("endpoint_url").cloned(),
                                format!("profile {name} endpoint_url in {file_name}"),
                            )
                        })
                })
                .flatten();
            configured.unwrap_or_else(|| ServiceEndpoint {
                service: service.key,
                url: None,
                source: if ignored {
                    "configured endpoints ignored (ignore_configured_endpoint_urls)".into()
                } else {
                    "the AWS default for the region".into()
                },
            })
        })
        .collect()
}

/// [`resolve`] with the process environment and `$HOME`.
pub fn resolve_here(profile: Option<&str>) -> Vec<ServiceEndpoint> {
    let env = |name: &str| std::env::var(name).ok();
    let home = std::env::var_os("HOME").map(PathBuf::from);
    resolve(profile, &env, home.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn by_service(endpoints: &[ServiceEndpoint]) -> HashMap<&str, (Option<&str>, &str)> {
        endpoints
            .iter()
            .map(|e| (e.service, (e.url.as_deref(), e.source.as_str())))
            .collect()
    }

    #[test]
    fn variables_service_first_then_global_then_default() {
        let env = env_of(&[
            ("AWS_ENDPOINT_URL_ELASTIC_BEANSTALK", "http://eb:1"),
            ("AWS_ENDPOINT_URL", "http://all:2"),
        ]);
        let got = resolve(None, &env, None);
        let got = by_service(&got);
        assert_eq!(
            got["elastic_beanstalk"],
            (Some("http://eb:1"), "AWS_ENDPOINT_URL_ELASTIC_BEANSTALK")
        );
        assert_eq!(got["s3"], (Some("http://all:2"), "AWS_ENDPOINT_URL"));
        assert_eq!(got["sts"], (Some("http://all:2"), "AWS_ENDPOINT_URL"));
        let none = resolve(None, &env_of(&[]), None);
        assert!(none.iter().all(|e| e.url.is_none()), "{none:?}");
        assert_eq!(none.len(), SERVICES.len());
    }

    #[test]
    fn the_profile_services_section_and_endpoint_url() {
        let home = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(home.path().join(".aws")).expect("mkdir");
        std::fs::write(
            home.path().join(".aws/config"),
            "[profile local]\nendpoint_url = http://profile:3\nservices = emulated\n\n\
             [services emulated]\ns3 =\n  endpoint_url = http://s3-section:4\n\
             ecr =\n  endpoint_url = http://ecr-section:5\n",
        )
        .expect("write");
        let env = env_of(&[("AWS_ENDPOINT_URL_ECR", "http://ecr-env:6")]);
        let got = resolve(Some("local"), &env, Some(home.path()));
        let got = by_service(&got);
        assert_eq!(got["s3"].0, Some("http://s3-section:4"));
        assert!(
            got["s3"]
                .1
                .starts_with("[services emulated] s3.endpoint_url in ")
        );
        assert_eq!(
            got["ecr"],
            (Some("http://ecr-env:6"), "AWS_ENDPOINT_URL_ECR")
        );
        assert_eq!(got["elastic_beanstalk"].0, Some("http://profile:3"));
        assert!(
            got["elastic_beanstalk"]
                .1
                .starts_with("profile local endpoint_url")
        );
        // Another profile sees none of it.
        let other = resolve(Some("prod"), &env_of(&[]), Some(home.path()));
        assert!(other.iter().all(|e| e.url.is_none()));
    }

    #[test]
    fn ignoring_configured_endpoints() {
        let env = env_of(&[
            ("AWS_ENDPOINT_URL", "http://all:2"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
        ]);
        let got = resolve(None, &env, None);
        assert!(got.iter().all(|e| e.url.is_none()));
        assert!(got[0].source.contains("ignore"));
    }
}
