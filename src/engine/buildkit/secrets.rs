//! `--secret id=NAME,src=PATH` / `--secret id=NAME,env=VAR`: build secrets the session hands to
//! `RUN --mount=type=secret` steps. Values are read here and go only to the daemon's session.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::exit::{Coded, ExitStatus};

/// A `--secret` that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretSpecError {
    /// The value is not `id=…,src=…` or `id=…,env=…`.
    #[error(
        "--secret {spec:?}: {reason}. Write `--secret id=NAME,src=PATH` (a file) or \
         `--secret id=NAME,env=VAR` (an environment variable)"
    )]
    Malformed {
        /// What was given.
        spec: String,
        /// What is wrong.
        reason: String,
    },
    /// The file could not be read.
    #[error("--secret {id}: cannot read {}: {source}", path.display())]
    Unreadable {
        /// The secret id.
        id: String,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A compose `build.secrets` entry names a top-level secret a build cannot read.
    #[error(
        "build secret {id}: the top-level secret `{source_name}` has neither `file:` nor \
         `environment:`, so a build cannot read it"
    )]
    NoSource {
        /// The secret id.
        id: String,
        /// The top-level secret.
        source_name: String,
    },
    /// The environment variable is not set.
    #[error("--secret {id}: the environment variable {var} is not set")]
    MissingEnv {
        /// The secret id.
        id: String,
        /// The variable.
        var: String,
    },
}

impl Coded for SecretSpecError {
    fn exit_status(&self) -> ExitStatus {
        ExitStatus::InvalidInput
    }
}

fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

/// Build secrets by id. `Debug` shows the ids only, so a logged request never shows a value.
#[derive(Clone, Default)]
pub struct BuildSecrets(pub HashMap<String, Vec<u8>>);

impl std::fmt::Debug for BuildSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut ids: Vec<&String> = self.0.keys().collect();
        ids.sort();
        f.debug_tuple("BuildSecrets").field(&ids).finish()
    }
}

/// Reads the secret `id` from the file `path` (a compose `secrets:` entry with `file:`).
pub fn read_file(id: &str, path: &std::path::Path) -> Result<Vec<u8>, SecretSpecError> {
    std::fs::read(path).map_err(|source| SecretSpecError::Unreadable {
        id: id.to_owned(),
        path: path.to_owned(),
        source,
    })
}

/// Reads the secret `id` from the environment variable `var` (a compose `secrets:` entry with
/// `environment:`).
pub fn read_env(id: &str, var: &str) -> Result<Vec<u8>, SecretSpecError> {
    std::env::var_os(var)
        .map(|v| v.into_encoded_bytes())
        .ok_or_else(|| SecretSpecError::MissingEnv {
            id: id.to_owned(),
            var: var.to_owned(),
        })
}

/// Reads the secrets named by `specs`.
pub fn load(specs: &[String]) -> Result<BuildSecrets, SecretSpecError> {
    let mut secrets = HashMap::new();
    for spec in specs {
        let malformed = |reason: &str| SecretSpecError::Malformed {
            spec: spec.clone(),
            reason: reason.to_owned(),
        };
        let mut id = None;
        let mut src = None;
        let mut env = None;
        for part in spec.split(',') {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| malformed("each part must be KEY=VALUE"))?;
            match key.trim() {
                "id" => id = Some(value.trim().to_owned()),
                "src" | "source" => src = Some(value.trim().to_owned()),
                "env" => env = Some(value.trim().to_owned()),
                "type" => {}
                other => return Err(malformed(&format!("unknown key {other:?}"))),
            }
        }
        let value = match (&src, &env) {
            (Some(path), None) => {
                let path = expand_home(path);
                let id = id.clone().unwrap_or_else(|| {
                    path.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                });
                let value = std::fs::read(&path).map_err(|source| SecretSpecError::Unreadable {
                    id: id.clone(),
                    path: path.clone(),
                    source,
                })?;
                secrets.insert(id, value);
                continue;
            }
            (None, Some(var)) => {
                let id = id.clone().unwrap_or_else(|| var.clone());
                let value = std::env::var_os(var).ok_or_else(|| SecretSpecError::MissingEnv {
                    id: id.clone(),
                    var: var.clone(),
                })?;
                (id, value.into_encoded_bytes())
            }
            (None, None) => {
                let id = id.clone().ok_or_else(|| malformed("no id"))?;
                // Like the Docker CLI: a bare id reads the environment variable of that name.
                let value = std::env::var_os(&id).ok_or_else(|| SecretSpecError::MissingEnv {
                    id: id.clone(),
                    var: id.clone(),
                })?;
                (id, value.into_encoded_bytes())
            }
            (Some(_), Some(_)) => return Err(malformed("give src or env, not both")),
        };
        secrets.insert(value.0, value.1);
    }
    Ok(BuildSecrets(secrets))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_file_secret_and_rejects_bad_specs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cr3t").expect("write");
        let spec = format!("id=tok,src={}", path.display());
        let secrets = load(&[spec]).expect("load");
        assert_eq!(secrets.0["tok"], b"s3cr3t");
        assert!(!format!("{secrets:?}").contains("s3cr3t"));
        assert!(load(&["id=x,foo=bar".to_owned()]).is_err());
        assert!(load(&["id=x,src=/nonexistent/stevedore".to_owned()]).is_err());
    }
}
