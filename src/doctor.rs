//! The checks of `doctor`: is this machine and project ready? Each says pass, warn or fail
//! with a fix and the exit status a failure maps to.

use std::path::Path;
use std::sync::Arc;

use crate::aws::credentials::{self, CredentialCheck, CredentialSource};
use crate::engine;
use crate::exit::ExitStatus;
use crate::git::Git;
use crate::ignore::{docker::DockerIgnore, eb::EbIgnore};
use crate::output::CheckStatus;
use crate::project::settings::Settings;
use crate::project::{Loaded, Project};
use crate::registry::credentials::{self as registry, Lookup};

/// One check's outcome, and the exit status a failure maps to.
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// Pass, warn or fail.
    pub status: CheckStatus,
    /// What was found.
    pub detail: String,
    /// How to fix it.
    pub fix: Option<String>,
    /// The exit status a failure maps to.
    pub failure: ExitStatus,
}

impl Check {
    /// A pass.
    pub fn pass(name: &'static str, detail: impl Into<String>) -> Self {
        Check {
            name,
            status: CheckStatus::Pass,
            detail: detail.into(),
            fix: None,
            failure: ExitStatus::Ok,
        }
    }

    /// A warning with its fix.
    pub fn warn(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Check {
            name,
            status: CheckStatus::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
            failure: ExitStatus::Ok,
        }
    }

    /// A failure with its fix and exit status.
    pub fn fail(
        name: &'static str,
        failure: ExitStatus,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Check {
            name,
            status: CheckStatus::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
            failure,
        }
    }
}

pub async fn check_builder(config: Option<engine::builder::BuilderChoice>) -> Check {
    let choice = engine::builder::BuilderChoice::resolve(None, config);
    match engine::builder::describe(choice).await {
        (true, detail) => Check::pass("builder", detail),
        (false, detail) => Check::warn(
            "builder",
            detail,
            "set [image] builder = \"classic\" (or STEVEDORE_BUILDER=classic)",
        ),
    }
}

pub async fn check_docker() -> Check {
    match engine::info().await {
        Ok(info) => Check::pass(
            "docker",
            format!(
                "Docker Engine {} (API {}) at {}",
                info.version, info.api_version, info.host
            ),
        ),
        Err(engine::EngineError::Endpoint(err)) => Check::fail(
            "docker",
            ExitStatus::Engine,
            "no Docker endpoint: the Docker configuration names none that exists",
            format!("{err}"),
        ),
        Err(err) => Check::fail(
            "docker",
            ExitStatus::Engine,
            format!(
                "cannot reach the Docker Engine at {}",
                engine::docker_host()
            ),
            format!("{err}"),
        ),
    }
}

pub fn check_git(git: &Git) -> Check {
    let version = match git.version() {
        Ok(v) => v,
        Err(err) => {
            return Check::fail("git", ExitStatus::Failure, "git not found", err.to_string());
        }
    };
    if !git.is_repo() {
        return Check::warn(
            "git",
            format!("{version}; the project is not a git repository"),
            "`git init` and commit: release and publish tie versions to commits",
        );
    }
    match git.state() {
        Ok(state) => {
            let branch = state.branch.unwrap_or_else(|| "detached HEAD".into());
            let head = state
                .head
                .map(|h| h.chars().take(12).collect::<String>())
                .unwrap_or_else(|| "no commits yet".into());
            let detail = format!(
                "{version}; on {branch} at {head}, {} uncommitted change(s)",
                state.dirty.len()
            );
            Check::pass("git", detail)
        }
        Err(err) => Check::fail(
            "git",
            ExitStatus::Failure,
            "git status failed",
            err.to_string(),
        ),
    }
}

/// The project and its settings (`loaded`: the project-wide settings as they loaded).
pub fn check_project(
    project: &Project,
    loaded: anyhow::Result<Arc<Loaded>>,
) -> (Check, Option<Settings>) {
    let envs = project.environment_names();
    match loaded {
        Ok(loaded) => {
            let resolution = &loaded.resolution;
            let config = match &project.config_path {
                Some(_) => "stevedore.toml",
                None => "no stevedore.toml (conventions only)",
            };
            let detail = format!(
                "{} ({config}); environments: {}",
                project.root.display(),
                if envs.is_empty() {
                    "none".into()
                } else {
                    envs.join(", ")
                }
            );
            let check = if envs.is_empty() {
                Check::warn(
                    "project",
                    detail,
                    "create environments/<env>/ for each environment",
                )
            } else {
                Check::pass("project", detail)
            };
            (check, Some(resolution.settings.clone()))
        }
        Err(err) => (
            Check::fail(
                "project",
                ExitStatus::InvalidInput,
                "the configuration does not load",
                err.to_string(),
            ),
            None,
        ),
    }
}

/// Load every environment's settings once: a failure is a check; the registry repositories
/// they name are kept for the credential check.
pub fn check_environments(
    project: &Project,
    load: impl Fn(&str) -> anyhow::Result<Arc<Loaded>>,
) -> (Vec<Check>, Vec<String>) {
    let mut checks = Vec::new();
    let mut repositories = Vec::new();
    for env in project.environment_names() {
        match load(&env) {
            Ok(loaded) => repositories.extend(
                loaded
                    .resolution
                    .settings
                    .environment
                    .as_ref()
                    .and_then(|e| e.repository.value.clone()),
            ),
            Err(err) => checks.push(Check::fail(
                "environment",
                ExitStatus::InvalidInput,
                format!("environment {env} does not load"),
                err.to_string(),
            )),
        }
    }
    (checks, repositories)
}

pub fn check_dockerignore(root: &Path) -> Check {
    let path = root.join(".dockerignore");
    if !path.is_file() {
        return Check::warn(
            ".dockerignore",
            "absent: the whole project directory is sent as build context",
            "add a .dockerignore that excludes .git, environments/*/.env and build output",
        );
    }
    match DockerIgnore::read(&path) {
        Ok(ignore) => Check::pass(
            ".dockerignore",
            format!("{} pattern(s) parse", ignore.patterns().len()),
        ),
        Err(err) => Check::fail(
            ".dockerignore",
            ExitStatus::InvalidInput,
            "invalid",
            err.to_string(),
        ),
    }
}

pub fn check_ebignore(root: &Path) -> Check {
    match EbIgnore::read(&root.join(".ebignore")) {
        Ok(Some(_)) => Check::pass(".ebignore", "parses"),
        Ok(None) => Check::warn(
            ".ebignore",
            "absent: bundles would hold the whole project",
            "add an .ebignore listing what the bundle must not contain",
        ),
        Err(err) => Check::fail(
            ".ebignore",
            ExitStatus::InvalidInput,
            "invalid",
            err.to_string(),
        ),
    }
}

pub fn check_aws(settings: &Settings) -> Check {
    let profile = settings.profile.value.as_deref();
    let env = |name: &str| std::env::var(name).ok();
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    match credentials::check(profile, &env, home.as_deref()) {
        CredentialCheck::Found(source) => {
            let detail = match source {
                CredentialSource::Environment => {
                    "from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY".into()
                }
                CredentialSource::Profile { name, file, method } => {
                    format!("profile {name} ({method}) in {}", file.display())
                }
                CredentialSource::WebIdentity => {
                    "web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)".into()
                }
                CredentialSource::ContainerEndpoint => "container credentials endpoint".into(),
            };
            Check::pass("aws credentials", detail)
        }
        CredentialCheck::NotFound { profile, searched } => Check::warn(
            "aws credentials",
            format!(
                "none found for profile {profile} (searched the environment and {}; an EC2 \
                 instance role is not probed)",
                searched
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            format!(
                "`aws configure --profile {profile}` or `aws sso login --profile {profile}`; \
                 only deploy, rollback, history and ECR pushes need them"
            ),
        ),
    }
}

pub async fn check_registry(repositories: &[String]) -> Check {
    let Some(repository) = repositories.first() else {
        return Check::warn(
            "registry credentials",
            "no registry repository configured",
            "set [image] repository in stevedore.toml to publish images",
        );
    };
    let host = registry::registry_of(repository);
    if registry::is_ecr(&host) {
        return Check::pass(
            "registry credentials",
            format!("{host} is Amazon ECR: a token is fetched with the AWS credentials"),
        );
    }
    let lookup_host = host.clone();
    let lookup = tokio::task::spawn_blocking(move || registry::lookup(&lookup_host))
        .await
        .unwrap_or_else(|err| Lookup::Failed(err.to_string()));
    match lookup {
        Lookup::UsernamePassword { username } => Check::pass(
            "registry credentials",
            format!("{host}: user {username} (from the Docker config)"),
        ),
        Lookup::IdentityToken => Check::pass(
            "registry credentials",
            format!("{host}: identity token (from the Docker config)"),
        ),
        Lookup::NotConfigured => Check::warn(
            "registry credentials",
            format!("none configured for {host} in the Docker config"),
            format!("`docker login {host}` (publish needs it unless the registry is open)"),
        ),
        Lookup::Failed(reason) => Check::fail(
            "registry credentials",
            ExitStatus::Registry,
            format!("reading credentials for {host} failed: {reason}"),
            format!("check DOCKER_CONFIG / ~/.docker/config.json, or `docker login {host}`"),
        ),
    }
}
