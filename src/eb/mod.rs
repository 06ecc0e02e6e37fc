//! Elastic Beanstalk operations, above the API calls of [`crate::aws`]: deploying a prepared
//! bundle ([`deploy`]), following an update ([`follow`]), the deploy history ([`history`]),
//! rollbacks ([`rollback`]), `.env` as environment properties ([`sync_env`]) and the remote
//! status ([`status`]). Progress goes out as [`Event`]s through a callback, so the commands
//! only translate arguments and print.
//!
//! [`EbTarget`] is what they share: the application and environment an environment deploys
//! to, the AWS clients, and the deploy policy (timeout, accepted health).

pub mod deploy;
pub mod follow;
pub mod history;
pub mod lock;
pub mod rollback;
pub mod status;
pub mod sync_env;

use std::time::Duration;

use crate::aws::sdk::{self, AwsTarget, Clients};
use crate::exit::{CommandError, ExitStatus};
use crate::output::Event;
use crate::project::Loaded;
use crate::project::typed::HealthPolicy;

/// An environment seen from Elastic Beanstalk.
pub struct EbTarget {
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

impl EbTarget {
    /// Resolve names from the environment's settings and connect.
    pub async fn connect(
        loaded: &Loaded,
        env: &str,
        emit: &(dyn Fn(Event) + Sync),
    ) -> anyhow::Result<EbTarget> {
        let settings = loaded.settings();
        let application = settings
            .application
            .get()
            .unwrap_or_else(|| loaded.project.default_name());
        let eb_environment = settings
            .environment
            .as_ref()
            .and_then(|e| e.eb_environment.get())
            .unwrap_or_else(|| format!("{application}-{env}"));
        // Checked when the settings loaded; their defaults are the settings' conventions.
        let typed = loaded.typed();
        let target = AwsTarget {
            profile: settings.profile.get(),
            region: settings.region.get(),
            s3_path_style: typed.s3_path_style,
            account: typed.account_id.clone().map(|id| (env.to_owned(), id)),
        };
        emit(Event::debug(format!(
            "Elastic Beanstalk: application {application}, environment {eb_environment}, \
             region {}",
            target.region.as_deref().unwrap_or("(SDK default)")
        )));
        let clients = sdk::clients(&target).await?;
        Ok(EbTarget {
            env_name: env.to_owned(),
            application,
            eb_environment,
            clients,
            bucket: settings.s3_bucket.get(),
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
