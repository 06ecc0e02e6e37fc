//! What `deploy`, `rollback`, `history` and `status --remote` share: the Elastic Beanstalk
//! application and environment an environment deploys to, the AWS clients, and the deploy
//! policy (timeout, accepted health).

use std::time::Duration;

use super::Context;
use super::bundle::setting;
use crate::aws::sdk::{self, AwsTarget, Clients};
use crate::exit::{CommandError, ExitStatus};
use crate::output::Event;
use crate::project::Project;
use crate::project::settings::Settings;
use crate::project::typed::HealthPolicy;

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
    pub default_timeout: Duration,
}

/// Load the project and the environment's settings (emitting their warnings).
pub(super) fn settings_of(ctx: &Context, env: &str) -> anyhow::Result<(Project, Settings)> {
    let loaded = ctx.settings(Some(env))?;
    Ok((loaded.project.clone(), loaded.resolution.settings.clone()))
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
        // Checked when the settings loaded; their defaults are the settings' conventions.
        let typed = ctx.settings(Some(env))?.resolution.typed.clone();
        let target = AwsTarget {
            profile: setting(&settings.profile),
            region: setting(&settings.region),
            s3_path_style: typed.s3_path_style,
            account: typed.account_id.clone().map(|id| (env.to_owned(), id)),
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
            accept_yellow: typed.deploy_health == HealthPolicy::Yellow,
            default_timeout: typed.deploy_timeout,
        })
    }

    /// Whether `state`'s health is acceptable under the deploy policy.
    pub fn healthy(&self, state: &crate::aws::environment::EnvState) -> bool {
        state.health == "Green" || (self.accept_yellow && state.health == "Yellow")
    }

    /// The command's time budget: `--timeout`, else `[deploy] timeout`.
    pub fn timeout(&self, flag: Option<&str>) -> anyhow::Result<Duration> {
        let Some(text) = flag else {
            return Ok(self.default_timeout);
        };
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
