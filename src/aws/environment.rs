//! Elastic Beanstalk environments: their state, bounded waits for `Ready`, updates and aborts.

use std::time::{Duration, Instant};

use aws_sdk_elasticbeanstalk::Client;
use aws_sdk_elasticbeanstalk::operation::RequestId;
use aws_sdk_elasticbeanstalk::types::EnvironmentDescription;

use super::error::AwsError;

/// The namespace of environment properties (the containers' environment variables).
pub const PROPERTIES_NAMESPACE: &str = "aws:elasticbeanstalk:application:environment";

/// A snapshot of an environment.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct EnvState {
    /// Its name.
    pub name: String,
    /// Its id (`e-…`).
    pub id: String,
    /// Its application.
    pub application: String,
    /// `Ready`, `Updating`, `Launching`, `Aborting`, `Terminating`, `Terminated`, …
    pub status: String,
    /// `Green`, `Yellow`, `Red` or `Grey`.
    pub health: String,
    /// The deployed version.
    pub version_label: Option<String>,
    /// The platform.
    pub solution_stack: String,
    /// Where it serves (load balancer or instance address).
    pub endpoint_url: Option<String>,
    /// Its CNAME.
    pub cname: Option<String>,
    /// Whether the running operation can be aborted.
    pub abortable: bool,
    /// When it last changed (ms since the epoch).
    pub updated_ms: Option<i64>,
}

impl EnvState {
    fn from_description(d: &EnvironmentDescription) -> EnvState {
        EnvState {
            name: d.environment_name().unwrap_or_default().to_owned(),
            id: d.environment_id().unwrap_or_default().to_owned(),
            application: d.application_name().unwrap_or_default().to_owned(),
            status: d
                .status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            health: d
                .health()
                .map(|h| h.as_str().to_owned())
                .unwrap_or_default(),
            version_label: d.version_label().map(str::to_owned),
            solution_stack: d.solution_stack_name().unwrap_or_default().to_owned(),
            endpoint_url: d.endpoint_url().map(str::to_owned),
            cname: d.cname().map(str::to_owned),
            abortable: d.abortable_operation_in_progress().unwrap_or(false),
            updated_ms: d.date_updated().and_then(|t| t.to_millis().ok()),
        }
    }

    /// `Ready`.
    pub fn is_ready(&self) -> bool {
        self.status == "Ready"
    }

    /// Gone or going.
    pub fn is_terminated(&self) -> bool {
        matches!(self.status.as_str(), "Terminating" | "Terminated")
    }
}

/// The live environment `name` of `application`, or `None`.
pub async fn describe(
    eb: &Client,
    application: &str,
    name: &str,
) -> Result<Option<EnvState>, AwsError> {
    let out = eb
        .describe_environments()
        .application_name(application)
        .environment_names(name)
        .include_deleted(false)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("DescribeEnvironments", e))?;
    Ok(out
        .environments()
        .iter()
        .map(EnvState::from_description)
        .find(|e| e.name == name && e.status != "Terminated"))
}

/// The live environments of `application`, in EB's order.
pub async fn list(eb: &Client, application: &str) -> Result<Vec<EnvState>, AwsError> {
    let out = eb
        .describe_environments()
        .application_name(application)
        .include_deleted(false)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("DescribeEnvironments", e))?;
    Ok(out
        .environments()
        .iter()
        .map(EnvState::from_description)
        .filter(|e| e.status != "Terminated")
        .collect())
}

/// [`describe`], with a missing environment an error.
pub async fn require(eb: &Client, application: &str, name: &str) -> Result<EnvState, AwsError> {
    describe(eb, application, name)
        .await?
        .ok_or_else(|| AwsError::NoEnvironment {
            application: application.to_owned(),
            environment: name.to_owned(),
        })
}

/// Wait (polling every `interval`) until the environment is `Ready`; `Busy` at `deadline`.
/// `waiting` hears each state that is not Ready.
pub async fn wait_ready(
    eb: &Client,
    application: &str,
    name: &str,
    deadline: Instant,
    interval: Duration,
    waiting: &mut dyn FnMut(&EnvState),
) -> Result<EnvState, AwsError> {
    loop {
        let state = require(eb, application, name).await?;
        if state.is_ready() {
            return Ok(state);
        }
        if state.is_terminated() {
            return Err(AwsError::NoEnvironment {
                application: application.to_owned(),
                environment: name.to_owned(),
            });
        }
        if Instant::now() + interval > deadline {
            return Err(AwsError::Busy {
                message: format!(
                    "environment {name} is still {} (another operation is running); gave up \
                     waiting for Ready",
                    state.status
                ),
            });
        }
        waiting(&state);
        tokio::time::sleep(interval).await;
    }
}

/// What an update changes.
#[derive(Debug, Clone, Default)]
pub struct Update {
    /// The version to deploy.
    pub version_label: Option<String>,
    /// Variables to set and remove: plain properties and secret references.
    pub variables: super::env_vars::Changes,
}

/// `UpdateEnvironment`; the request id that tags the operation's events.
pub async fn update(eb: &Client, name: &str, change: &Update) -> Result<Option<String>, AwsError> {
    let mut request = eb.update_environment().environment_name(name);
    if let Some(label) = &change.version_label {
        request = request.version_label(label);
    }
    if !change.variables.is_empty() {
        request = request
            .set_option_settings(Some(change.variables.option_settings()))
            .set_options_to_remove(Some(change.variables.options_to_remove()));
    }
    let out = request
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("UpdateEnvironment", e))?;
    Ok(out.request_id().map(str::to_owned))
}

/// `AbortEnvironmentUpdate`; the request id.
pub async fn abort(eb: &Client, name: &str) -> Result<Option<String>, AwsError> {
    let out = eb
        .abort_environment_update()
        .environment_name(name)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("AbortEnvironmentUpdate", e))?;
    Ok(out.request_id().map(str::to_owned))
}

/// The environment's option settings, from one `DescribeConfigurationSettings`.
pub async fn option_settings(
    eb: &Client,
    application: &str,
    environment: &str,
) -> Result<Vec<aws_sdk_elasticbeanstalk::types::ConfigurationOptionSetting>, AwsError> {
    let out = eb
        .describe_configuration_settings()
        .application_name(application)
        .environment_name(environment)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("DescribeConfigurationSettings", e))?;
    Ok(out
        .configuration_settings()
        .iter()
        .flat_map(|c| c.option_settings())
        .cloned()
        .collect())
}

/// The environment's properties (names and values), from `DescribeConfigurationSettings`.
pub async fn properties(
    eb: &Client,
    application: &str,
    name: &str,
) -> Result<Vec<(String, String)>, AwsError> {
    Ok(option_settings(eb, application, name)
        .await?
        .iter()
        .filter(|o| o.namespace() == Some(PROPERTIES_NAMESPACE))
        .filter_map(|o| {
            Some((
                o.option_name()?.to_owned(),
                o.value().unwrap_or_default().to_owned(),
            ))
        })
        .collect())
}

/// The value of option `namespace`/`name` in the environment's configuration, when set.
pub async fn option(
    eb: &Client,
    application: &str,
    environment: &str,
    (namespace, name): (&str, &str),
) -> Result<Option<String>, AwsError> {
    Ok(option_settings(eb, application, environment)
        .await?
        .iter()
        .find(|o| o.namespace() == Some(namespace) && o.option_name() == Some(name))
        .and_then(|o| o.value().map(str::to_owned)))
}
