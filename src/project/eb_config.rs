//! Interop with the EB CLI's `.elasticbeanstalk/config.yml`.
//!
//! Like the EB CLI, `config.global.yml` is read first and `config.yml` overrides it key by key;
//! `profile`, `default_region` and `environment` are looked up under
//! `branch-defaults.<current branch>` before `global`.

use std::path::{Path, PathBuf};

use serde_norway::Value;

use super::ProjectError;

/// One value read from the EB CLI config, with the file and YAML path it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EbValue {
    /// The value.
    pub value: String,
    /// The file it was read from.
    pub path: PathBuf,
    /// The dotted key, e.g. `global.application_name`.
    pub key: String,
}

/// The parsed files, in override order (global first).
#[derive(Debug, Clone, Default)]
pub struct EbConfig {
    files: Vec<(PathBuf, Value)>,
}

impl EbConfig {
    /// Read `<root>/.elasticbeanstalk/config.global.yml` and `config.yml`; absent files are
    /// skipped.
    pub fn read(root: &Path) -> Result<EbConfig, ProjectError> {
        let dir = root.join(".elasticbeanstalk");
        let mut files = Vec::new();
        for name in ["config.global.yml", "config.yml"] {
            let path = dir.join(name);
            if !path.is_file() {
                continue;
            }
            let text = fs_err::read_to_string(&path).map_err(|source| ProjectError::Io {
                path: path.clone(),
                source,
            })?;
            files.push((path.clone(), parse(&text, &path)?));
        }
        Ok(EbConfig { files })
    }

    /// Whether any EB CLI config file was found.
    pub fn is_present(&self) -> bool {
        !self.files.is_empty()
    }

    /// `section.key`, with `config.yml` winning over `config.global.yml`.
    pub fn get(&self, section: &str, key: &str) -> Option<EbValue> {
        self.files.iter().rev().find_map(|(path, doc)| {
            scalar(doc.get(section)?.get(key)?).map(|value| EbValue {
                value,
                path: path.clone(),
                key: format!("{section}.{key}"),
            })
        })
    }

    /// `branch-defaults.<branch>.<key>`.
    pub fn branch_default(&self, branch: &str, key: &str) -> Option<EbValue> {
        self.files.iter().rev().find_map(|(path, doc)| {
            scalar(doc.get("branch-defaults")?.get(branch)?.get(key)?).map(|value| EbValue {
                value,
                path: path.clone(),
                key: format!("branch-defaults.{branch}.{key}"),
            })
        })
    }

    /// The EB CLI's lookup for per-branch keys: the branch first, then `global`.
    pub fn branch_or_global(&self, branch: &str, key: &str) -> Option<EbValue> {
        self.branch_default(branch, key)
            .or_else(|| self.get("global", key))
    }
}

fn parse(text: &str, path: &Path) -> Result<Value, ProjectError> {
    let value: Value =
        serde_norway::from_str(text).map_err(|err| ProjectError::EbConfigSyntax {
            path: path.to_owned(),
            line: err.location().map(|l| l.line()).unwrap_or(0),
            message: err.to_string(),
        })?;
    match value {
        Value::Mapping(_) | Value::Null => Ok(value),
        _ => Err(ProjectError::EbConfigSyntax {
            path: path.to_owned(),
            line: 1,
            message: "expected a mapping with `global:` and `branch-defaults:` sections".into(),
        }),
    }
}

/// Strings, numbers and booleans as text; `null` and collections as absent.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(global: Option<&str>, local: Option<&str>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join(".elasticbeanstalk")).expect("mkdir");
        if let Some(text) = global {
            std::fs::write(dir.path().join(".elasticbeanstalk/config.global.yml"), text)
                .expect("write");
        }
        if let Some(text) = local {
            std::fs::write(dir.path().join(".elasticbeanstalk/config.yml"), text).expect("write");
        }
        dir
    }

    const EB_INIT: &str = "branch-defaults:\n  main:\n    environment: demo-prod\n  default:\n    environment: demo-dev\nglobal:\n  application_name: demo\n  default_region: eu-west-1\n  profile: eb-cli\n  sc: git\n";

    #[test]
    fn reads_what_eb_init_writes() {
        let dir = project(None, Some(EB_INIT));
        let eb = EbConfig::read(dir.path()).expect("parses");
        assert_eq!(
            eb.get("global", "application_name").map(|v| v.value),
            Some("demo".into())
        );
        assert_eq!(
            eb.branch_default("main", "environment").map(|v| v.key),
            Some("branch-defaults.main.environment".into())
        );
        assert_eq!(
            eb.branch_or_global("main", "default_region")
                .map(|v| v.value),
            Some("eu-west-1".into())
        );
        assert_eq!(eb.branch_default("feature", "environment"), None);
    }

    #[test]
    fn config_yml_overrides_config_global_yml() {
        let dir = project(
            Some("global:\n  default_region: us-east-1\n  profile: shared\n"),
            Some("global:\n  default_region: eu-west-1\n"),
        );
        let eb = EbConfig::read(dir.path()).expect("parses");
        assert_eq!(
            eb.get("global", "default_region").map(|v| v.value),
            Some("eu-west-1".into())
        );
        assert_eq!(
            eb.get("global", "profile").map(|v| v.value),
            Some("shared".into())
        );
    }

    #[test]
    fn malformed_yaml_names_file_and_line() {
        let dir = project(
            None,
            Some("global:\n  application_name: demo\n  region: [unclosed\n"),
        );
        let err = EbConfig::read(dir.path()).expect_err("bad yaml");
        let msg = err.to_string();
        assert!(msg.contains("config.yml:"), "{msg}");
        assert!(!msg.contains(":0:"), "{msg}");
    }

    #[test]
    fn absent_directory_is_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        let eb = EbConfig::read(dir.path()).expect("ok");
        assert!(!eb.is_present());
    }
}
