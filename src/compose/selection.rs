//! Which compose files, variable files and profiles make up an environment's Compose project:
//! what `-f`, `--env-file` and `--compose-profile` say, else the defaults Compose uses.

use std::path::{Path, PathBuf};

use super::error::ComposeError;
use super::files::{self, Request};
use super::model::ComposeFile;
use super::variables::{ProjectVariables, override_file};

/// The user's choices (all may be empty).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `-f` files, resolved by the caller, in order. Empty: the environment's compose file
    /// and its override file (`docker-compose.override.yml` beside it) when there is one.
    pub files: Vec<PathBuf>,
    /// `--env-file` files, resolved by the caller.
    pub env_files: Vec<PathBuf>,
    /// `--compose-profile` names. Empty: `COMPOSE_PROFILES` (shell or the `.env` files).
    pub profiles: Vec<String>,
    /// The services the command names; their profiles are enabled (see [`Request::targeted`]).
    pub targeted: Vec<String>,
}

impl Selection {
    /// The compose files to read: the `-f` files, else `default` and its override file.
    pub fn compose_files(&self, default: Option<&Path>) -> Vec<PathBuf> {
        if !self.files.is_empty() {
            return self.files.clone();
        }
        let Some(default) = default else {
            return Vec::new();
        };
        std::iter::once(default.to_owned())
            .chain(override_file(default))
            .collect()
    }
}

/// Load the project `selection` describes. `default` is the environment's compose file,
/// `env_dotenv` its `environments/<env>/.env`; `read_env_files` as in [`Request`].
/// `Ok(None)` when there is no compose file at all.
pub fn load_selected(
    selection: &Selection,
    default: Option<&Path>,
    env_dotenv: Option<&Path>,
    read_env_files: bool,
) -> Result<Option<ComposeFile>, ComposeError> {
    let files = selection.compose_files(default);
    let Some(first) = files.first() else {
        return Ok(None);
    };
    let project_dir = files::base_dir(first)?;
    let variables = ProjectVariables::read(&selection.env_files, env_dotenv, &project_dir)?;
    let vars = |name: &str| variables.get(name);
    let request = Request {
        files: &files,
        vars: &vars,
        profiles: (!selection.profiles.is_empty()).then_some(selection.profiles.as_slice()),
        targeted: &selection.targeted,
        read_env_files,
    };
    files::load(&request, None).map(Some)
}
