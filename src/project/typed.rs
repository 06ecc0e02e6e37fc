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
