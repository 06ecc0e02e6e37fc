//! Whether AWS credentials can be resolved, decided offline.
//!
//! `doctor` must say "none found" without a network call (the SDK's chain would probe the EC2
//! metadata endpoint). This mirrors the SDK's default chain as far as files and variables go.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Where credentials would come from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CredentialSource {
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`.
    Environment,
    /// A named profile in the shared files.
    Profile {
        /// The profile name.
        name: String,
        /// The file that defines it.
        file: PathBuf,
        /// How it gets credentials: static keys, sso, credential_process, assume role, web identity.
        method: String,
    },
    /// `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` (e.g. EKS, GitHub OIDC).
    WebIdentity,
    /// The ECS/EKS container credentials endpoint variables.
    ContainerEndpoint,
}

/// The outcome of the offline check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialCheck {
    /// Credentials are configured.
    Found(CredentialSource),
    /// Nothing is configured for `profile`.
    NotFound {
        /// The profile that was looked for.
        profile: String,
        /// The files that were read.
        searched: Vec<PathBuf>,
    },
}

/// Check the chain for `profile` (None: `AWS_PROFILE`, else `default`) using `env` for variables
/// and `home` for `~/.aws`.
pub fn check(
    profile: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
    home: Option<&Path>,
) -> CredentialCheck {
    let var = |name: &str| env(name).filter(|v| !v.is_empty());
    if profile.is_none()
        && var("AWS_ACCESS_KEY_ID").is_some()
        && var("AWS_SECRET_ACCESS_KEY").is_some()
    {
        return CredentialCheck::Found(CredentialSource::Environment);
    }
    let name = profile
        .map(str::to_owned)
        .or_else(|| var("AWS_PROFILE"))
        .unwrap_or_else(|| "default".to_owned());
    let aws_dir = home.map(|h| h.join(".aws"));
    let credentials_file = var("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| aws_dir.as_ref().map(|d| d.join("credentials")));
    let config_file = var("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| aws_dir.as_ref().map(|d| d.join("config")));
    let mut searched = Vec::new();
    for (file, is_config) in [(credentials_file, false), (config_file, true)] {
        let Some(file) = file else { continue };
        searched.push(file.clone());
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let sections = parse_ini(&text);
        let section = if is_config && name != "default" {
            sections
                .get(&format!("profile {name}"))
                .or_else(|| sections.get(&name))
        } else {
            sections.get(&name)
        };
        if let Some(method) = section.and_then(credential_method) {
            return CredentialCheck::Found(CredentialSource::Profile { name, file, method });
        }
    }
    if var("AWS_WEB_IDENTITY_TOKEN_FILE").is_some() && var("AWS_ROLE_ARN").is_some() {
        return CredentialCheck::Found(CredentialSource::WebIdentity);
    }
    if var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_some()
        || var("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_some()
    {
        return CredentialCheck::Found(CredentialSource::ContainerEndpoint);
    }
    CredentialCheck::NotFound {
        profile: name,
        searched,
    }
}

/// How a profile section provides credentials, if it does.
fn credential_method(section: &HashMap<String, String>) -> Option<String> {
    let has = |k: &str| section.get(k).is_some_and(|v| !v.is_empty());
    let method = if has("aws_access_key_id") && has("aws_secret_access_key") {
        "static keys"
    } else if has("sso_session") || has("sso_start_url") {
        "AWS IAM Identity Center (SSO)"
    } else if has("credential_process") {
        "credential_process"
    } else if has("role_arn") && (has("source_profile") || has("credential_source")) {
        "assume role"
    } else if has("web_identity_token_file") && has("role_arn") {
        "web identity"
    } else {
        return None;
    };
    Some(method.to_owned())
}

/// A minimal INI reader for the AWS shared files: `[section]` and `key = value`; an indented
/// `key = value` under a `parent =` with no value (the `[services]` sub-properties) is stored as
/// `parent.key`.
pub(super) fn parse_ini(text: &str) -> HashMap<String, HashMap<String, String>> {
    let mut sections: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut current: Option<String> = None;
    let mut parent: Option<String> = None;
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let indented = raw.starts_with([' ', '\t']);
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
            sections.entry(name.clone()).or_default();
            current = Some(name);
            parent = None;
        } else if let (Some(section), Some((key, value))) = (&current, line.split_once('=')) {
            let key = key.trim().to_lowercase();
            let value = value.trim().to_owned();
            let key = match (&parent, indented) {
                (Some(parent), true) => format!("{parent}.{key}"),
                _ => {
                    parent = value.is_empty().then(|| key.clone());
                    key
                }
            };
            sections
                .entry(section.clone())
                .or_default()
                .insert(key, value);
        }
    }
    sections
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

    fn home_with(credentials: &str, config: &str) -> tempfile::TempDir {
        let home = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(home.path().join(".aws")).expect("mkdir");
        std::fs::write(home.path().join(".aws/credentials"), credentials).expect("write");
        std::fs::write(home.path().join(".aws/config"), config).expect("write");
        home
    }

    #[test]
    fn environment_keys_win_without_a_profile() {
        let env = env_of(&[
            ("AWS_ACCESS_KEY_ID", "AKIA"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
        ]);
        assert_eq!(
            check(None, &env, None),
            CredentialCheck::Found(CredentialSource::Environment)
        );
    }

    #[test]
    fn profiles_in_either_file() {
        let home = home_with(
            "[default]\naws_access_key_id = AKIA\naws_secret_access_key = s\n",
            "[profile sso]\nsso_session = corp\n[profile role]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = default\n[profile empty]\nregion = eu-west-1\n",
        );
        let env = env_of(&[]);
        let method = |p: Option<&str>| match check(p, &env, Some(home.path())) {
            CredentialCheck::Found(CredentialSource::Profile { method, .. }) => method,
            other => format!("{other:?}"),
        };
        assert_eq!(method(None), "static keys");
        assert_eq!(method(Some("sso")), "AWS IAM Identity Center (SSO)");
        assert_eq!(method(Some("role")), "assume role");
        assert!(method(Some("empty")).starts_with("NotFound"));
        assert!(method(Some("missing")).starts_with("NotFound"));
    }

    #[test]
    fn aws_profile_variable_selects_the_profile() {
        let home = home_with(
            "[ci]\naws_access_key_id = A\naws_secret_access_key = s\n",
            "",
        );
        let env = env_of(&[("AWS_PROFILE", "ci")]);
        assert!(matches!(
            check(None, &env, Some(home.path())),
            CredentialCheck::Found(CredentialSource::Profile { name, .. }) if name == "ci"
        ));
    }

    #[test]
    fn nothing_configured_lists_the_files_searched() {
        let home = tempfile::tempdir().expect("tempdir");
        let env = env_of(&[]);
        match check(Some("prod"), &env, Some(home.path())) {
            CredentialCheck::NotFound { profile, searched } => {
                assert_eq!(profile, "prod");
                assert_eq!(searched.len(), 2);
            }
            other => panic!("{other:?}"),
        }
    }
}
