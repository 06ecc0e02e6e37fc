//! `stevedore.toml`: the tool's own settings. It never holds secrets.
//!
//! ```toml
//! [project]
//! name = "demo"
//!
//! [image]
//! repository = "registry.example.com/acme/demo"   # where `publish` pushes
//!
//! [aws]
//! application = "demo"
//! region = "eu-west-1"
//! profile = "deploy"
//! s3_bucket = "my-bundles"          # default: CreateStorageLocation's bucket
//! s3_path_style = false             # true for MinIO, moto, LocalStack
//! account_id = "123456789012"       # the credentials must belong to it (STS check)
//!
//! [git]
//! remote = "origin"
//! default_branch = "main"
//!
//! [deploy]
//! timeout = "20m"
//! health = "Green"
//!
//! [environments.prod]
//! eb_environment = "demo-prod"
//! repository = "registry.example.com/acme/demo"
//! env_tag = "prod"
//! compose_file = "docker/app/prod/docker-compose.yml"
//! bundle_format = "v2"              # v2 (ECS platform) | v1 | compose (Docker platform)
//! registry_auth = "s3://my-bucket/docker/config.json"   # private registry credentials
//! web_service = "proxy"             # the service Elastic Beanstalk routes port 80 to
//! region = "eu-central-1"           # per-environment AWS target (overrides [aws])
//! profile = "prod-deploy"
//! account_id = "210987654321"
//!
//! [environments.prod.create]        # what `stevedore create prod` makes
//! platform = "ECS running on 64bit Amazon Linux 2023"
//! instance_type = "t3.small"
//! tags = { team = "web" }
//! [environments.prod.create.options."aws:autoscaling:asg"]
//! MinSize = 2
//! ```

use std::path::Path;

use indexmap::IndexMap;
use serde::Deserialize;

use super::ProjectError;

/// The whole file. Unknown keys are errors, so a typo is caught with its line.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `[project]`.
    #[serde(default)]
    pub project: ProjectSection,
    /// `[image]`.
    #[serde(default)]
    pub image: ImageSection,
    /// `[aws]`.
    #[serde(default)]
    pub aws: AwsSection,
    /// `[git]`.
    #[serde(default)]
    pub git: GitSection,
    /// `[deploy]`.
    #[serde(default)]
    pub deploy: DeploySection,
    /// `[environments.<name>]`.
    #[serde(default)]
    pub environments: IndexMap<String, EnvironmentSection>,
    /// `[tasks.<name>]`: named one-off commands (`stevedore <env> <task>`).
    #[serde(default)]
    pub tasks: IndexMap<String, TaskSection>,
}

/// `[tasks.<name>]`: a command run in a one-off container of a service, like the original's
/// `stevedore <env> check` (`gulp check`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TaskSection {
    /// The command: a string (split like a shell would, nothing expanded) or a list.
    pub command: TaskCommand,
    /// The service whose container runs it (default: the compose file's first service).
    pub service: Option<String>,
    /// The environments it applies to (default: all).
    pub environments: Option<Vec<String>>,
    /// One line for `stevedore task <env>`.
    pub description: Option<String>,
}

/// A task's command, as written.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum TaskCommand {
    /// `command = "gulp check"`.
    Line(String),
    /// `command = ["gulp", "check"]`.
    Args(Vec<String>),
}

/// `[project]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ProjectSection {
    /// The project name, used in local image tags (`<name>-<service>:<env>`).
    pub name: Option<String>,
}

/// `[image]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ImageSection {
    /// The registry repository images are pushed to, for every environment.
    pub repository: Option<String>,
    /// The builder: `auto` (BuildKit when the daemon offers it), `buildkit` or `classic`.
    pub builder: Option<crate::engine::builder::BuilderChoice>,
}

/// `[aws]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AwsSection {
    /// The Elastic Beanstalk application name.
    pub application: Option<String>,
    /// The AWS region.
    pub region: Option<String>,
    /// The AWS profile.
    pub profile: Option<String>,
    /// The S3 bucket for source bundles.
    pub s3_bucket: Option<String>,
    /// Use path-style S3 addressing (S3-compatible stores).
    pub s3_path_style: Option<bool>,
    /// The AWS account the environments live in: the credentials must belong to it.
    pub account_id: Option<String>,
}

/// `[git]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GitSection {
    /// The remote that `publish` pushes to.
    pub remote: Option<String>,
    /// The branch major/minor releases are cut from.
    pub default_branch: Option<String>,
}

/// `[deploy]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DeploySection {
    /// How long `deploy` follows an update before exiting 8.
    pub timeout: Option<String>,
    /// The worst health accepted as success (`Green` or `Yellow`).
    pub health: Option<String>,
}

/// `[environments.<name>]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentSection {
    /// The Elastic Beanstalk environment this environment deploys to.
    pub eb_environment: Option<String>,
    /// The registry repository for this environment (overrides `[image] repository`).
    pub repository: Option<String>,
    /// The moving tag (`latest` for dev, the environment name otherwise).
    pub env_tag: Option<String>,
    /// The compose file, relative to the project root.
    pub compose_file: Option<String>,
    /// The Elastic Beanstalk run file `bundle` renders: `v2`, `v1` or `compose`.
    pub bundle_format: Option<String>,
    /// `s3://bucket/key` of a docker `config.json` the instances use to pull private images.
    pub registry_auth: Option<String>,
    /// The service the load balancer reaches (port 80 of the instance).
    pub web_service: Option<String>,
    /// The AWS region of this environment (overrides `[aws] region`).
    pub region: Option<String>,
    /// The AWS profile for this environment (overrides `[aws] profile`).
    pub profile: Option<String>,
    /// The AWS account this environment lives in (overrides `[aws] account_id`): the
    /// credentials must belong to it before anything changes.
    pub account_id: Option<String>,
    /// `[environments.<name>.create]`: how `stevedore create` makes the EB environment.
    pub create: Option<CreateSection>,
}

/// `[environments.<name>.create]`: the Elastic Beanstalk environment `stevedore create` makes.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CreateSection {
    /// A platform branch (`ECS running on 64bit Amazon Linux 2023`), words of one, or a
    /// platform ARN (default: the branch the bundle format runs on).
    pub platform: Option<String>,
    /// The EC2 instance type.
    pub instance_type: Option<String>,
    /// The CNAME prefix (default: the EB environment name).
    pub cname_prefix: Option<String>,
    /// Tags on the environment.
    #[serde(default)]
    pub tags: IndexMap<String, String>,
    /// Option settings: namespace → option → value.
    #[serde(default)]
    pub options: IndexMap<String, IndexMap<String, OptionValue>>,
}

/// An option setting's value as TOML lets one write it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum OptionValue {
    /// `"t3.small"`.
    Text(String),
    /// `2`.
    Integer(i64),
    /// `true`.
    Boolean(bool),
}

impl std::fmt::Display for OptionValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OptionValue::Text(text) => f.write_str(text),
            OptionValue::Integer(n) => write!(f, "{n}"),
            OptionValue::Boolean(b) => write!(f, "{b}"),
        }
    }
}

/// Read and validate `stevedore.toml`.
pub fn read(path: &Path) -> Result<ConfigFile, ProjectError> {
    let text = fs_err::read_to_string(path).map_err(|source| ProjectError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse(&text, path)
}

/// Parse `stevedore.toml` text; `path` is used in errors.
pub fn parse(text: &str, path: &Path) -> Result<ConfigFile, ProjectError> {
    toml::from_str(text).map_err(|err| {
        let line = err
            .span()
            .map(|span| line_of_offset(text, span.start))
            .unwrap_or(1);
        ProjectError::ConfigSyntax {
            path: path.to_owned(),
            line,
            message: err.message().trim().to_owned(),
        }
    })
}

/// The 1-based line holding byte `offset` of `text`.
pub fn line_of_offset(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_section() {
        let text = r#"
[project]
name = "demo"
[image]
repository = "localhost:5000/demo"
[aws]
application = "demo-app"
region = "eu-west-1"
s3_path_style = true
[git]
remote = "upstream"
[environments.prod]
eb_environment = "demo-prod"
env_tag = "stable"
[environments.prod.create]
platform = "ECS"
tags = { team = "web" }
[environments.prod.create.options."aws:autoscaling:asg"]
MinSize = 2
[tasks."build:dev"]
command = "gulp"
environments = ["dev"]
[tasks.check]
command = ["gulp", "check"]
service = "django"
"#;
        let cfg = parse(text, Path::new("stevedore.toml")).expect("valid");
        assert_eq!(cfg.project.name.as_deref(), Some("demo"));
        assert_eq!(cfg.aws.s3_path_style, Some(true));
        assert_eq!(cfg.git.remote.as_deref(), Some("upstream"));
        assert_eq!(
            cfg.environments["prod"].eb_environment.as_deref(),
            Some("demo-prod")
        );
        assert_eq!(
            cfg.tasks["build:dev"].command,
            TaskCommand::Line("gulp".into())
        );
        assert_eq!(cfg.tasks["check"].service.as_deref(), Some("django"));
        let create = cfg.environments["prod"].create.clone().expect("create");
        assert_eq!(create.platform.as_deref(), Some("ECS"));
        assert_eq!(create.tags["team"], "web");
        assert_eq!(
            create.options["aws:autoscaling:asg"]["MinSize"].to_string(),
            "2"
        );
    }

    #[test]
    fn errors_name_the_line() {
        let table = [
            ("[aws]\nregion = \n", 2, "stevedore.toml:2:"),
            ("[aws]\nregon = \"x\"\n", 2, "unknown field `regon`"),
            ("[project]\nname = 3\n", 2, "invalid type"),
            ("\n\n[aws\n", 3, "stevedore.toml:3:"),
            ("[aws]\ns3_path_style = \"yes\"\n", 2, "invalid type"),
        ];
        for (text, line, needle) in table {
            let err = parse(text, Path::new("stevedore.toml")).expect_err(text);
            let msg = err.to_string();
            assert!(
                msg.starts_with(&format!("stevedore.toml:{line}:")),
                "{text:?} → {msg}"
            );
            assert!(msg.contains(needle), "{text:?} → {msg}");
        }
    }
}
