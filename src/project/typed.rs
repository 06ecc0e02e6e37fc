//! The settings that have a type, parsed and checked once when settings load. Their defaults
//! are the convention rungs of [`super::settings::resolve`], so each has a value; a value that
//! does not parse is an error naming where it came from (the file and line, or the variable),
//! before any command does anything with it.

use std::path::Path;
use std::time::Duration;

use super::ProjectError;
use super::settings::{Setting, Settings, Source};
use crate::bundle::BundleFormat;

/// The worst health a deploy accepts (`[deploy] health`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum HealthPolicy {
    /// Only Green.
    Green,
    /// Green or Yellow.
    Yellow,
}

/// Typed settings, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Typed {
    /// `deploy.timeout`: how long a deploy is followed.
    pub deploy_timeout: Duration,
    /// `deploy.health`.
    pub deploy_health: HealthPolicy,
    /// `aws.s3_path_style`.
    pub s3_path_style: bool,
    /// `git.remote`.
    pub git_remote: String,
    /// `env.bundle_format`, when an environment was selected.
    pub bundle_format: Option<BundleFormat>,
    /// `aws.account_id`, 12 digits, when set.
    pub account_id: Option<String>,
}

/// Parse and check the typed settings of `settings`.
pub fn check(settings: &Settings) -> Result<Typed, ProjectError> {
    let deploy_timeout = parse(
        &settings.deploy_timeout,
        "a duration such as 20m, 90s or 1h",
        |text| {
            crate::compose::parse_duration(text)
                .ok()
                .filter(|d| !d.is_zero())
        },
    )?;
    let deploy_health = parse(
        &settings.deploy_health,
        "Green or Yellow",
        |text| match text.trim().to_ascii_lowercase().as_str() {
            "green" => Some(HealthPolicy::Green),
            "yellow" => Some(HealthPolicy::Yellow),
            _ => None,
        },
    )?;
    let s3_path_style = parse(&settings.s3_path_style, "true or false", |text| match text
        .trim()
        .to_ascii_lowercase()
        .as_str()
    {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" | "" => Some(false),
        _ => None,
    })?;
    let git_remote = parse(&settings.git_remote, "a git remote name", |text| {
        let text = text.trim();
        (!text.is_empty() && !text.contains(char::is_whitespace)).then(|| text.to_owned())
    })?;
    let bundle_format = settings
        .environment
        .as_ref()
        .map(|env| {
            parse(
                &env.bundle_format,
                "v2 (ECS platform), v1 (one container) or compose (Docker platform)",
                |text| BundleFormat::parse(text).ok(),
            )
        })
        .transpose()?;
    // Names that end up in image references: refused here (exit 3), not by the Engine (4).
    if settings.project_name.value.is_some() {
        parse(
            &settings.project_name,
            "a name of letters, digits, `.`, `_` and `-` (no `..`), at most 100 characters",
            |text| {
                let name = crate::engine::labels::repository_name(text);
                (text.chars().count() <= 100 && is_path_component(&format!("{name}-app")))
                    .then_some(())
            },
        )?;
    }
    if let Some(env) = &settings.environment {
        if env
            .repository
            .value
            .as_deref()
            .is_some_and(|v| !v.is_empty())
        {
            parse(
                &env.repository,
                "an image repository such as registry.example.com/team/app (lower case, no tag)",
                |text| is_repository(text.trim()).then_some(()),
            )?;
        }
        if env.env_tag.value.as_deref().is_some_and(|v| !v.is_empty()) {
            parse(
                &env.env_tag,
                "a tag of letters, digits, `_`, `.` and `-`, at most 128 characters",
                |text| is_tag(text.trim()).then_some(()),
            )?;
        }
    }
    let account_id = match &settings.account_id.value {
        None => None,
        Some(_) => Some(parse(
            &settings.account_id,
            "a 12-digit AWS account id",
            |text| {
                let digits: String = text.chars().filter(|c| *c != '-' && *c != ' ').collect();
                (digits.len() == 12 && digits.chars().all(|c| c.is_ascii_digit())).then_some(digits)
            },
        )?),
    };
    Ok(Typed {
        deploy_timeout,
        deploy_health,
        s3_path_style,
        git_remote,
        bundle_format,
        account_id,
    })
}

/// A Docker tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub fn is_tag(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric() || c == '_')
        && text.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// One path component of a repository: `[a-z0-9]+` joined by `.`, `_`, `__` or dashes.
pub fn is_path_component(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.is_empty()
        || !bytes[0].is_ascii_alphanumeric()
        || !bytes[bytes.len() - 1].is_ascii_alphanumeric()
        || text.contains("..")
        || text.contains("___")
        || text.contains("._")
        || text.contains("_.")
    {
        return false;
    }
    let separators_ok = text
        .split(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        .all(|sep| {
            sep.is_empty()
                || sep == "."
                || sep == "_"
                || sep == "__"
                || sep.bytes().all(|b| b == b'-')
        });
    separators_ok
        && text.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
}

/// An image repository: `[host[:port]/]component(/component)*`, at most 255 characters.
pub fn is_repository(text: &str) -> bool {
    if text.is_empty() || text.len() > 255 {
        return false;
    }
    let mut parts: Vec<&str> = text.split('/').collect();
    let first = parts[0];
    if parts.len() > 1 && (first.contains(['.', ':']) || first == "localhost") {
        let (host, port) = first.split_once(':').unwrap_or((first, "1"));
        let host_ok = !host.is_empty()
            && host.split('.').all(|l| {
                !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !host_ok || port.parse::<u16>().is_err() {
            return false;
        }
        parts.remove(0);
    }
    parts.iter().all(|p| is_path_component(p))
}

/// Parse `setting`'s value with `read`; `None` from it is an error saying what was expected.
fn parse<T>(
    setting: &Setting,
    expected: &str,
    read: impl Fn(&str) -> Option<T>,
) -> Result<T, ProjectError> {
    let value = setting.value.clone().unwrap_or_default();
    read(&value).ok_or_else(|| ProjectError::InvalidSetting {
        at: where_from(&setting.source),
        key: setting.key.clone(),
        value,
        expected: expected.to_owned(),
    })
}

/// Where a value was set, as a user finds it: `path:line` for files, the variable or flag.
fn where_from(source: &Source) -> String {
    match source {
        Source::ConfigFile { path, key } => match line_of_key(path, key) {
            Some(line) => format!("{}:{line}", path.display()),
            None => path.display().to_string(),
        },
        Source::Dotenv { path, line, .. } | Source::LegacyDotenv { path, line, .. } => {
            format!("{}:{line}", path.display())
        }
        other => other.to_string(),
    }
}

/// The 1-based line of dotted `key` (`deploy.timeout`, `environments.prod.bundle_format`) in
/// the TOML file at `path`: the `key =` line under its `[table]` header.
fn line_of_key(path: &Path, key: &str) -> Option<usize> {
    let text = std::fs::read_to_string(path).ok()?;
    let (table, leaf) = key.rsplit_once('.')?;
    let mut current = String::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(header) = trimmed.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            current = header.trim().replace(['"', ' '], "");
        } else if current == table
            && trimmed
                .split_once('=')
                .is_some_and(|(name, _)| name.trim().trim_matches('"') == leaf)
        {
            return Some(index + 1);
        }
    }
    None
}

#[cfg(test)]
mod names_tests {
    use super::*;

    #[test]
    fn image_names_and_tags() {
        for good in ["app", "a.b", "a__b", "a---b", "demo-app"] {
            assert!(is_path_component(good), "{good}");
        }
        for bad in ["", "-a", "a-", "a..b", "A", "a b", "a._b"] {
            assert!(!is_path_component(bad), "{bad}");
        }
        assert!(is_repository("localhost:5000/team/app"));
        assert!(is_repository("registry.example.com/app"));
        assert!(is_repository("team/app"));
        assert!(!is_repository("Team/App"));
        assert!(!is_repository("host:port/app"));
        assert!(!is_repository("app:1.0"));
        assert!(is_tag("1.0.0-rc.1") && is_tag("prod") && is_tag(&"a".repeat(128)));
        assert!(!is_tag(&"a".repeat(129)) && !is_tag("-x") && !is_tag("a/b") && !is_tag(""));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_under_their_table() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("stevedore.toml");
        std::fs::write(
            &path,
            "[aws]\ntimeout = 1\n\n[deploy]\nhealth = \"Green\"\ntimeout = \"forever\"\n\n\
             [environments.prod]\nbundle_format = \"v9\"\n",
        )
        .expect("write");
        assert_eq!(line_of_key(&path, "deploy.timeout"), Some(6));
        assert_eq!(line_of_key(&path, "aws.timeout"), Some(2));
        assert_eq!(
            line_of_key(&path, "environments.prod.bundle_format"),
            Some(9)
        );
        assert_eq!(line_of_key(&path, "git.remote"), None);
    }
}
