//! What `deploy`, `rollback`, `history` and `status --remote` share: the Elastic Beanstalk
//! application and environment an environment deploys to, the AWS clients, and the deploy
//! policy (timeout, accepted health).

use std::time::Duration;

use super::Context;
use super::bundle::setting;
use crate::aws::sdk::{self, AwsTarget, Clients};
use crate::exit::{CommandError, ExitStatus};
use crate::git::Git;
use crate::output::Event;
use crate::project::Project;
use crate::project::settings::{self, Settings};

/// An environment seen from Elastic Beanstalk.
pub(super) struct EbScope {
    /// Our environment's name.
    pub env_name: String,
    /// The EB application.
    pub application: String,
    /// The EB environment.
    pub eb_environment: String,
    /// The AWS clients.
    pub clients: Clients,
    /// `[aws] s3_bucket`, when set.
    pub bucket: Option<String>,
    /// Accept Yellow health as success.
    pub accept_yellow: bool,
    /// `[deploy] timeout`.
    pub default_timeout: String,
}

/// Load the project and the environment's settings (emitting their warnings).
pub(super) fn settings_of(ctx: &Context, env: &str) -> anyhow::Result<(Project, Settings)> {
    let project = ctx.project()?;
    project.environment(env)?;
    let resolution = settings::load(
        &project,
        &ctx.flag_values(),
        &Git::new(&project.root).eb_branch(),
        Some(env),
    )?;
    for warning in &resolution.warnings {
        ctx.printer.emit(Event::warning(warning.clone()));
    }
    Ok((project, resolution.settings))
}

impl EbScope {
    /// Resolve names from `settings` and connect.
    pub async fn connect(
        ctx: &Context,
        project: &Project,
        settings: &Settings,
        env: &str,
    ) -> anyhow::Result<EbScope> {
        let application = setting(&settings.application).unwrap_or_else(|| project.default_name());
        let eb_environment = settings
            .environment
            .as_ref()
            .and_then(|e| setting(&e.eb_environment))
            .unwrap_or_else(|| format!("{application}-{env}"));
        let health = setting(&settings.deploy_health).unwrap_or_else(|| "Green".into());
        let accept_yellow = match health.to_ascii_lowercase().as_str() {
            "green" => false,
            "yellow" => true,
            other => {
                return Err(CommandError::new(
                    ExitStatus::InvalidInput,
                    format!(
                        "[deploy] health `{other}` is not Green or Yellow (the worst health a \
                         deploy accepts)"
                    ),
                )
                .into());
            }
        };
        let target = AwsTarget {
            profile: setting(&settings.profile),
            region: setting(&settings.region),
            s3_path_style: sdk::truthy(settings.s3_path_style.value.as_deref()),
        };
        ctx.printer.emit(Event::debug(format!(
            "Elastic Beanstalk: application {application}, environment {eb_environment}, \
             region {}",
            target.region.as_deref().unwrap_or("(SDK default)")
        )));
        let clients = sdk::clients(&target).await?;
        Ok(EbScope {
            env_name: env.to_owned(),
            application,
            eb_environment,
            clients,
            bucket: setting(&settings.s3_bucket),
            accept_yellow,
            default_timeout: setting(&settings.deploy_timeout).unwrap_or_else(|| "20m".into()),
        })
    }

    /// Whether `state`'s health is acceptable under the deploy policy.
    pub fn healthy(&self, state: &crate::aws::environment::EnvState) -> bool {
        state.health == "Green" || (self.accept_yellow && state.health == "Yellow")
    }

    /// The command's time budget: `--timeout`, else `[deploy] timeout`.
    pub fn timeout(&self, flag: Option<&str>) -> anyhow::Result<Duration> {
        let text = flag.unwrap_or(&self.default_timeout);
        let duration = crate::compose::parse_duration(text).map_err(|problem| {
            CommandError::new(
                ExitStatus::InvalidInput,
                format!("timeout `{text}`: {problem}; write it like 90s, 20m or 1h"),
            )
        })?;
        if duration.is_zero() {
            return Err(CommandError::new(
                ExitStatus::InvalidInput,
                "the timeout must be longer than 0",
            )
            .into());
        }
        Ok(duration)
    }
}
