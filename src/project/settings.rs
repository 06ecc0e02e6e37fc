//! Resolved settings, each with the place it came from.
//!
//! Precedence (ARCHITECTURE §3), first match wins: flags, then `STEVEDORE_*` environment
//! variables, then `stevedore.toml`, then `.elasticbeanstalk/config.yml`, then legacy dockdj keys
//! in `environments/<env>/.env` (with a warning), then conventions.
//! [`resolve`] is pure; [`load`] gathers its inputs from disk.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::dotenv::{self, DotenvFile};
use super::eb_config::{EbConfig, EbValue};
use super::{Environment, Project, ProjectError};

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// A command-line flag.
    Flag {
        /// The flag, e.g. `--region`.
        flag: String,
    },
    /// A `STEVEDORE_*` environment variable.
    EnvVar {
        /// The variable name.
        name: String,
    },
    /// `stevedore.toml`.
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// The dotted key, e.g. `aws.region`.
        key: String,
    },
    /// The EB CLI's `.elasticbeanstalk/config.yml`.
    EbConfig {
        /// The file.
        path: PathBuf,
        /// The dotted key.
        key: String,
    },
    /// A legacy dockdj key in an environment's `.env`.
    LegacyDotenv {
        /// The `.env` file.
        path: PathBuf,
        /// The 1-based line of the assignment.
        line: usize,
        /// The variable name.
        key: String,
    },
    /// A runtime variable of an environment's `.env` (shown masked).
    Dotenv {
        /// The `.env` file.
        path: PathBuf,
        /// The 1-based line of the assignment.
        line: usize,
        /// The variable name.
        key: String,
    },
    /// A built-in convention.
    Convention {
        /// The rule that produced the value.
        rule: String,
    },
    /// Nothing set it.
    Unset {
        /// What happens without a value.
        note: String,
    },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag { flag } => write!(f, "flag {flag}"),
            Source::EnvVar { name } => write!(f, "environment variable {name}"),
            Source::ConfigFile { key, .. } => write!(f, "stevedore.toml {key}"),
            Source::EbConfig { path, key } => write!(f, "{} {key}", display_tail(path, 2)),
            Source::LegacyDotenv { path, line, key } => {
                write!(f, "{}:{line} {key} (legacy)", display_tail(path, 3))
            }
            Source::Dotenv { path, line, key } => {
                write!(f, "{}:{line} {key}", display_tail(path, 3))
            }
            Source::Convention { rule } => write!(f, "convention: {rule}"),
            Source::Unset { note } => write!(f, "unset: {note}"),
        }
    }
}

/// The last `n` components of a path, for short messages.
fn display_tail(path: &Path, n: usize) -> String {
    let parts: Vec<_> = path.components().collect();
    let start = parts.len().saturating_sub(n);
    parts[start..]
        .iter()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// One resolved setting. Serialising masks secret values, so no output path can leak them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The dotted key, e.g. `aws.region` or `env.eb_environment`.
    pub key: String,
    /// The value, when one was found.
    pub value: Option<String>,
    /// Where it came from.
    pub source: Source,
    /// Whether the value must be masked when shown.
    pub secret: bool,
}

impl Setting {
    /// The value, when set and not empty.
    pub fn get(&self) -> Option<String> {
        self.value.clone().filter(|v| !v.is_empty())
    }

    /// The value to show a person: masked when secret.
    pub fn display_value(&self) -> String {
        match (&self.value, self.secret) {
            (None, _) => "-".to_owned(),
            (Some(_), true) => "******".to_owned(),
            (Some(v), false) => v.clone(),
        }
    }
}

impl Serialize for Setting {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = serializer.serialize_struct("Setting", 5)?;
        out.serialize_field("key", &self.key)?;
        let value = self.value.as_ref().map(|_| self.display_value());
        out.serialize_field("value", &value)?;
        out.serialize_field("secret", &self.secret)?;
        out.serialize_field("source", &self.source)?;
        out.serialize_field("source_text", &self.source.to_string())?;
        out.end()
    }
}

/// Command-line flags that take part in resolution.
#[derive(Debug, Clone, Default)]
pub struct FlagValues {
    /// `--region`.
    pub region: Option<String>,
    /// `--profile`.
    pub profile: Option<String>,
}

/// Everything [`resolve`] reads.
pub struct Inputs<'a> {
    /// The project.
    pub project: &'a Project,
    /// Flags.
    pub flags: &'a FlagValues,
    /// Process environment lookup (injected for tests).
    pub env_var: &'a dyn Fn(&str) -> Option<String>,
    /// The EB CLI config.
    pub eb: &'a EbConfig,
    /// The current git branch (`default` when detached or without git, as the EB CLI does).
    pub branch: &'a str,
    /// The selected environment and its `.env`, if any.
    pub environment: Option<(&'a Environment, Option<&'a DotenvFile>)>,
}

/// The resolved settings of a project and, optionally, one environment.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// `project.name`.
    pub project_name: Setting,
    /// `aws.application`.
    pub application: Setting,
    /// `aws.region`.
    pub region: Setting,
    /// `aws.profile`.
    pub profile: Setting,
    /// `aws.account_id`: the account the credentials must belong to.
    pub account_id: Setting,
    /// `aws.s3_bucket`.
    pub s3_bucket: Setting,
    /// `aws.s3_path_style`.
    pub s3_path_style: Setting,
    /// `git.remote`.
    pub git_remote: Setting,
    /// `git.default_branch`.
    pub git_default_branch: Setting,
    /// `deploy.timeout`.
    pub deploy_timeout: Setting,
    /// `deploy.health`.
    pub deploy_health: Setting,
    /// The environment's settings, when one was selected.
    pub environment: Option<EnvSettings>,
}

/// Settings of one environment.
#[derive(Debug, Clone, Serialize)]
pub struct EnvSettings {
    /// `env.name`.
    pub name: Setting,
    /// `env.eb_environment`.
    pub eb_environment: Setting,
    /// `env.repository`.
    pub repository: Setting,
    /// `env.env_tag`.
    pub env_tag: Setting,
    /// `env.compose_file`.
    pub compose_file: Setting,
    /// `env.services`.
    pub services: Setting,
    /// `env.bundle_format`.
    pub bundle_format: Setting,
    /// `env.registry_auth`.
    pub registry_auth: Setting,
    /// `env.web_service`.
    pub web_service: Setting,
    /// The runtime variables of `environments/<env>/.env`, values masked.
    pub variables: Vec<Setting>,
}

impl Settings {
    /// Every setting, in display order.
    pub fn all(&self) -> Vec<&Setting> {
        let mut all = vec![
            &self.project_name,
            &self.application,
            &self.region,
            &self.profile,
            &self.account_id,
            &self.s3_bucket,
            &self.s3_path_style,
            &self.git_remote,
            &self.git_default_branch,
            &self.deploy_timeout,
            &self.deploy_health,
        ];
        if let Some(env) = &self.environment {
            all.extend([
                &env.name,
                &env.eb_environment,
                &env.repository,
                &env.env_tag,
                &env.compose_file,
                &env.services,
                &env.bundle_format,
                &env.registry_auth,
                &env.web_service,
            ]);
            all.extend(env.variables.iter());
        }
        all
    }
}

/// What [`resolve`] finds: settings plus warnings to show (legacy keys in `.env`).
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The settings.
    pub settings: Settings,
    /// Things the user should fix.
    pub warnings: Vec<String>,
}

/// What [`load`] returns: the resolved settings, their typed values checked, and warnings.
#[derive(Debug, Clone)]
pub struct Resolution {
    /// The settings.
    pub settings: Settings,
    /// The typed ones, parsed and checked.
    pub typed: super::typed::Typed,
    /// Things the user should fix.
    pub warnings: Vec<String>,
}

/// One rung's candidate value.
type Candidate = Option<(String, Source)>;

/// Legacy dockdj keys read from `.env`, and the setting each belongs to.
const LEGACY_EB_ENVIRONMENT: &str = "ENV_AWS_EB_ENVIRONMENT_NAME";
const LEGACY_REPOSITORY: &str = "ENV_DOCKER_HUB_REPO_PATH";

/// Resolve every setting from `inputs`.
pub fn resolve(inputs: &Inputs<'_>) -> Resolved {
    let r = Rungs { inputs };
    let cfg = &inputs.project.config;
    let project_name = r.pick(
        "project.name",
        [
            r.var("STEVEDORE_PROJECT_NAME"),
            r.file("project.name", &cfg.project.name),
        ],
        convention(
            inputs.project.default_name(),
            "the project directory's name",
        ),
    );
    let application = r.pick(
        "aws.application",
        [
            r.var("STEVEDORE_APPLICATION"),
            r.file("aws.application", &cfg.aws.application),
            r.eb(inputs.eb.get("global", "application_name")),
        ],
        convention(value_of(&project_name), "the project name"),
    );
    // An environment's own AWS target ([environments.<env>] region/profile/account_id) comes
    // before the project's.
    let env_section = inputs
        .environment
        .and_then(|(env, _)| Some((env.name.clone(), cfg.environments.get(&env.name)?.clone())));
    let env_file =
        |leaf: &str, value: fn(&super::config_file::EnvironmentSection) -> &Option<String>| {
            env_section.as_ref().and_then(|(name, section)| {
                r.file(&format!("environments.{name}.{leaf}"), value(section))
            })
        };
    let region = r.pick(
        "aws.region",
        [
            r.flag("--region", &inputs.flags.region),
            r.var("STEVEDORE_REGION"),
            env_file("region", |s| &s.region),
            r.file("aws.region", &cfg.aws.region),
            r.eb(inputs.eb.branch_or_global(inputs.branch, "default_region")),
        ],
        unset("the AWS SDK's default chain (AWS_REGION, the profile's region)"),
    );
    let profile = r.pick(
        "aws.profile",
        [
            r.flag("--profile", &inputs.flags.profile),
            r.var("STEVEDORE_PROFILE"),
            env_file("profile", |s| &s.profile),
            r.file("aws.profile", &cfg.aws.profile),
            r.eb(inputs.eb.branch_or_global(inputs.branch, "profile")),
        ],
        unset(
            "the AWS SDK's default chain (AWS_PROFILE, environment credentials, default profile)",
        ),
    );
    let account_id = r.pick(
        "aws.account_id",
        [
            r.var("STEVEDORE_ACCOUNT_ID"),
            env_file("account_id", |s| &s.account_id),
            r.file("aws.account_id", &cfg.aws.account_id),
        ],
        unset("not checked: the credentials' own account is used"),
    );
    let s3_bucket = r.pick(
        "aws.s3_bucket",
        [
            r.var("STEVEDORE_S3_BUCKET"),
            r.file("aws.s3_bucket", &cfg.aws.s3_bucket),
        ],
        unset("the bucket Elastic Beanstalk's CreateStorageLocation returns"),
    );
    let s3_path_style = r.pick(
        "aws.s3_path_style",
        [
            r.var("STEVEDORE_S3_PATH_STYLE"),
            r.file(
                "aws.s3_path_style",
                &cfg.aws.s3_path_style.map(|b| b.to_string()),
            ),
        ],
        convention("false".into(), "virtual-hosted S3 addressing"),
    );
    let git_remote = r.pick(
        "git.remote",
        [
            r.var("STEVEDORE_GIT_REMOTE"),
            r.file("git.remote", &cfg.git.remote),
        ],
        convention("origin".into(), "the usual remote name"),
    );
    let git_default_branch = r.pick(
        "git.default_branch",
        [
            r.var("STEVEDORE_DEFAULT_BRANCH"),
            r.file("git.default_branch", &cfg.git.default_branch),
        ],
        unset("the remote's default branch (its HEAD)"),
    );
    let deploy_timeout = r.pick(
        "deploy.timeout",
        [
            r.var("STEVEDORE_DEPLOY_TIMEOUT"),
            r.file("deploy.timeout", &cfg.deploy.timeout),
        ],
        convention("20m".into(), "deploys are followed for 20 minutes"),
    );
    let deploy_health = r.pick(
        "deploy.health",
        [
            r.var("STEVEDORE_DEPLOY_HEALTH"),
            r.file("deploy.health", &cfg.deploy.health),
        ],
        convention("Green".into(), "only Green counts as healthy"),
    );
    let mut warnings = Vec::new();
    let environment = inputs
        .environment
        .map(|(env, dotenv)| resolve_env(&r, env, dotenv, &application, &mut warnings));
    Resolved {
        settings: Settings {
            project_name,
            application,
            region,
            profile,
            account_id,
            s3_bucket,
            s3_path_style,
            git_remote,
            git_default_branch,
            deploy_timeout,
            deploy_health,
            environment,
        },
        warnings,
    }
}

fn resolve_env(
    r: &Rungs<'_>,
    env: &Environment,
    dotenv: Option<&DotenvFile>,
    application: &Setting,
    warnings: &mut Vec<String>,
) -> EnvSettings {
    let project = r.inputs.project;
    let section = project
        .config
        .environments
        .get(&env.name)
        .cloned()
        .unwrap_or_default();
    let key = |k: &str| format!("environments.{}.{k}", env.name);
    let legacy = |name: &str| -> Candidate {
        let file = dotenv?;
        let value = file.get(name).filter(|v| !v.is_empty())?.to_owned();
        Some((
            value,
            Source::LegacyDotenv {
                path: file.path.clone(),
                line: file.line_of(name).unwrap_or(0),
                key: name.to_owned(),
            },
        ))
    };
    let name = Setting {
        key: "env.name".into(),
        value: Some(env.name.clone()),
        source: convention_source(&format!("the directory environments/{}", env.name)),
        secret: false,
    };
    let eb_environment = r.pick(
        "env.eb_environment",
        [
            r.var("STEVEDORE_EB_ENVIRONMENT"),
            r.file(&key("eb_environment"), &section.eb_environment),
            r.eb(r.inputs.eb.branch_default(r.inputs.branch, "environment")),
            legacy(LEGACY_EB_ENVIRONMENT),
        ],
        convention(
            format!("{}-{}", value_of(application), env.name),
            "<application>-<environment>",
        ),
    );
    let repository = r.pick(
        "env.repository",
        [
            r.var("STEVEDORE_REPOSITORY"),
            r.file(&key("repository"), &section.repository),
            r.file("image.repository", &project.config.image.repository),
            legacy(LEGACY_REPOSITORY),
        ],
        unset("images stay local; set [image] repository in stevedore.toml to publish"),
    );
    let default_tag = if env.name == "dev" {
        "latest".to_owned()
    } else {
        env.name.clone()
    };
    let env_tag = r.pick(
        "env.env_tag",
        [
            r.var("STEVEDORE_ENV_TAG"),
            r.file(&key("env_tag"), &section.env_tag),
        ],
        convention(
            default_tag,
            "`latest` for dev, the environment name otherwise",
        ),
    );
    let compose_file = Setting {
        key: "env.compose_file".into(),
        value: env.compose_file.as_deref().map(|p| project.relative(p)),
        source: match (&section.compose_file, &env.compose_file) {
            (Some(_), _) => config_source(project, &key("compose_file")),
            (None, Some(_)) => convention_source("docker/<service>/<env>/docker-compose.yml"),
            (None, None) => Source::Unset {
                note: "no docker/<service>/<env>/docker-compose.yml found".into(),
            },
        },
        secret: false,
    };
    let bundle_format = r.pick(
        "env.bundle_format",
        [
            r.var("STEVEDORE_BUNDLE_FORMAT"),
            r.file(&key("bundle_format"), &section.bundle_format),
        ],
        convention(
            "v2".into(),
            "Dockerrun v2, the ECS platform's multi-container file",
        ),
    );
    let registry_auth = r.pick(
        "env.registry_auth",
        [
            r.var("STEVEDORE_REGISTRY_AUTH"),
            r.file(&key("registry_auth"), &section.registry_auth),
        ],
        unset("instances pull without credentials (public images, or ECR via the instance role)"),
    );
    let web_service = r.pick(
        "env.web_service",
        [
            r.var("STEVEDORE_WEB_SERVICE"),
            r.file(&key("web_service"), &section.web_service),
        ],
        unset("chosen by a rule the bundle's notes name (the service that publishes host port 80, else the one nothing depends on)"),
    );
    let service_names: Vec<&str> = env.services.iter().map(|s| s.name.as_str()).collect();
    let services = Setting {
        key: "env.services".into(),
        value: Some(service_names.join(", ")).filter(|s| !s.is_empty()),
        source: convention_source("directories docker/<service>/<env>/"),
        secret: false,
    };
    for (setting, legacy_key, toml_key) in [
        (
            &eb_environment,
            LEGACY_EB_ENVIRONMENT,
            key("eb_environment"),
        ),
        (&repository, LEGACY_REPOSITORY, key("repository")),
    ] {
        if let Source::LegacyDotenv { path, line, .. } = &setting.source {
            warnings.push(format!(
                "{}:{line}: {legacy_key} is a tooling setting read from the app's .env for \
                 compatibility with dockdj; move it to stevedore.toml as `{toml_key}` so it stops \
                 leaking into containers",
                project.relative(path)
            ));
        }
    }
    let variables = dotenv
        .map(|file| {
            file.keys()
                .map(|k| Setting {
                    key: format!("env.vars.{k}"),
                    value: file.get(k).map(str::to_owned),
                    source: Source::Dotenv {
                        path: file.path.clone(),
                        line: file.line_of(k).unwrap_or_default(),
                        key: k.to_owned(),
                    },
                    secret: true,
                })
                .collect()
        })
        .unwrap_or_default();
    EnvSettings {
        name,
        eb_environment,
        repository,
        env_tag,
        compose_file,
        services,
        bundle_format,
        registry_auth,
        web_service,
        variables,
    }
}

/// Candidate constructors for each rung, bound to the inputs.
struct Rungs<'a> {
    inputs: &'a Inputs<'a>,
}

impl Rungs<'_> {
    fn pick<const N: usize>(
        &self,
        key: &str,
        rungs: [Candidate; N],
        fallback: Fallback,
    ) -> Setting {
        let (value, source) = match rungs.into_iter().flatten().next() {
            Some((value, source)) => (Some(value), source),
            None => match fallback {
                Fallback::Convention { value, rule } => (Some(value), convention_source(&rule)),
                Fallback::Unset(note) => (None, Source::Unset { note }),
            },
        };
        Setting {
            key: key.to_owned(),
            value,
            source,
            secret: false,
        }
    }

    fn flag(&self, flag: &str, value: &Option<String>) -> Candidate {
        value
            .clone()
            .map(|v| (v, Source::Flag { flag: flag.into() }))
    }

    fn var(&self, name: &str) -> Candidate {
        (self.inputs.env_var)(name)
            .filter(|v| !v.is_empty())
            .map(|v| (v, Source::EnvVar { name: name.into() }))
    }

    fn file(&self, key: &str, value: &Option<String>) -> Candidate {
        value
            .clone()
            .map(|v| (v, config_source(self.inputs.project, key)))
    }

    fn eb(&self, value: Option<EbValue>) -> Candidate {
        value.map(|v| {
            (
                v.value,
                Source::EbConfig {
                    path: v.path,
                    key: v.key,
                },
            )
        })
    }
}

fn config_source(project: &Project, key: &str) -> Source {
    Source::ConfigFile {
        path: project
            .config_path
            .clone()
            .unwrap_or_else(|| project.root.join(super::CONFIG_FILE_NAME)),
        key: key.to_owned(),
    }
}

fn convention_source(rule: &str) -> Source {
    Source::Convention { rule: rule.into() }
}

/// What a setting falls back to when no rung sets it.
enum Fallback {
    /// A value derived by convention.
    Convention {
        /// The value.
        value: String,
        /// The rule, for `config` output.
        rule: String,
    },
    /// No value; the note says what happens instead.
    Unset(String),
}

fn convention(value: String, rule: &str) -> Fallback {
    Fallback::Convention {
        value,
        rule: rule.into(),
    }
}

fn unset(note: &str) -> Fallback {
    Fallback::Unset(note.into())
}

fn value_of(setting: &Setting) -> String {
    setting.value.clone().unwrap_or_default()
}

/// Read what resolution needs from disk (EB config, the environment's `.env`) and resolve.
pub fn load(
    project: &Project,
    flags: &FlagValues,
    branch: &str,
    env_name: Option<&str>,
) -> Result<Resolution, ProjectError> {
    let eb = EbConfig::read(&project.root)?;
    let environment = env_name.map(|n| project.environment(n)).transpose()?;
    let dotenv = match &environment {
        Some(env) => read_env_file(&env.dir.join(".env"))?,
        None => None,
    };
    let env_var = |name: &str| std::env::var(name).ok();
    let inputs = Inputs {
        project,
        flags,
        env_var: &env_var,
        eb: &eb,
        branch,
        environment: environment.as_ref().map(|e| (e, dotenv.as_ref())),
    };
    let resolved = resolve(&inputs);
    let typed = super::typed::check(&resolved.settings)?;
    Ok(Resolution {
        settings: resolved.settings,
        typed,
        warnings: resolved.warnings,
    })
}

/// An environment's `.env`, or `None` when it does not exist.
fn read_env_file(path: &Path) -> Result<Option<DotenvFile>, ProjectError> {
    if !path.is_file() {
        return Ok(None);
    }
    dotenv::read(path).map(Some).map_err(|err| match err {
        dotenv::DotenvError::Io { path, source } => ProjectError::Io { path, source },
        syntax => ProjectError::Dotenv(syntax.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::project::config_file;

    struct Fixture {
        project: Project,
        eb: EbConfig,
        env: Environment,
        dotenv: DotenvFile,
        vars: HashMap<String, String>,
        flags: FlagValues,
    }

    fn fixture() -> Fixture {
        let root = PathBuf::from("/p/demo");
        let config = config_file::parse(
            "[aws]\nregion = \"toml-region\"\n[environments.prod]\neb_environment = \"toml-env\"\n",
            Path::new("stevedore.toml"),
        )
        .expect("valid");
        Fixture {
            project: Project {
                root: root.clone(),
                config,
                config_path: Some(root.join("stevedore.toml")),
            },
            eb: EbConfig::default(),
            env: Environment {
                name: "prod".into(),
                dir: root.join("environments/prod"),
                compose_file: None,
                services: Vec::new(),
            },
            dotenv: dotenv::parse(
                "ENV_AWS_EB_ENVIRONMENT_NAME=legacy-env\nENV_DOCKER_HUB_REPO_PATH=acme/legacy\n",
                &root.join("environments/prod/.env"),
            )
            .expect("valid"),
            vars: HashMap::new(),
            flags: FlagValues::default(),
        }
    }

    fn run(f: &Fixture) -> Resolved {
        let lookup = |k: &str| f.vars.get(k).cloned();
        resolve(&Inputs {
            project: &f.project,
            flags: &f.flags,
            env_var: &lookup,
            eb: &f.eb,
            branch: "main",
            environment: Some((&f.env, Some(&f.dotenv))),
        })
    }

    #[test]
    fn flags_beat_variables_beat_the_file() {
        let mut f = fixture();
        assert_eq!(
            run(&f).settings.region.value.as_deref(),
            Some("toml-region")
        );
        f.vars
            .insert("STEVEDORE_REGION".into(), "var-region".into());
        assert_eq!(run(&f).settings.region.value.as_deref(), Some("var-region"));
        f.flags.region = Some("flag-region".into());
        let r = run(&f);
        assert_eq!(r.settings.region.value.as_deref(), Some("flag-region"));
        assert_eq!(
            r.settings.region.source,
            Source::Flag {
                flag: "--region".into()
            }
        );
    }

    #[test]
    fn legacy_keys_are_used_with_a_warning_only_when_nothing_else_sets_them() {
        let f = fixture();
        let r = run(&f);
        let env = r.settings.environment.expect("env settings");
        assert_eq!(env.eb_environment.value.as_deref(), Some("toml-env"));
        assert_eq!(env.repository.value.as_deref(), Some("acme/legacy"));
        assert!(matches!(
            env.repository.source,
            Source::LegacyDotenv { line: 2, .. }
        ));
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
        assert!(r.warnings[0].contains("ENV_DOCKER_HUB_REPO_PATH"));
    }

    #[test]
    fn empty_variables_do_not_count() {
        let mut f = fixture();
        f.vars.insert("STEVEDORE_REGION".into(), String::new());
        assert_eq!(
            run(&f).settings.region.value.as_deref(),
            Some("toml-region")
        );
    }

    #[test]
    fn dotenv_values_are_secret_and_masked_when_serialised() {
        let f = fixture();
        let env = run(&f).settings.environment.expect("env");
        assert!(env.variables.iter().all(|v| v.secret));
        let json = serde_json::to_string(&env.variables).expect("json");
        assert!(!json.contains("acme/legacy"), "{json}");
        assert!(json.contains("******"));
    }
}
