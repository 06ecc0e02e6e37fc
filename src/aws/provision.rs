//! Environments as things to make and unmake: choose a platform (ListPlatformVersions), create
//! an environment (with its instance type, option settings and tags), terminate it, swap two
//! environments' CNAMEs (blue/green), scale it, and wait for any of these to finish.
//!
//! The wait is the deploy follower's sibling for operations that are not deploys: it prints the
//! operation's events and ends when the environment is Ready again (or gone, for a terminate),
//! on a failure event of the operation, at the deadline, or at Ctrl-C — the operation itself
//! goes on in every case, and `stevedore wait <env>` attaches to it again.

use std::time::{Duration, Instant};

use aws_sdk_elasticbeanstalk::Client;
use aws_sdk_elasticbeanstalk::operation::RequestId;
use aws_sdk_elasticbeanstalk::types::{ConfigurationOptionSetting, PlatformFilter, Tag};

use super::environment::{self, EnvState};
use super::error::AwsError;
use super::events::{EbEvent, EventPoller};
use super::follow::terminal_outcome;
use crate::exit::{Coded, ExitStatus};

/// One platform version EB offers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlatformOption {
    /// `arn:aws:elasticbeanstalk:<region>::platform/<branch>/<version>`.
    pub arn: String,
    /// `Docker running on 64bit Amazon Linux 2023`.
    pub branch: String,
    /// `4.4.0`.
    pub version: String,
    /// `Supported`, `Beta`, `Deprecated`, `Retired`.
    pub branch_state: String,
}

/// What picking a platform can run into.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// Several platform branches match.
    #[error(
        "platform `{wanted}` matches {} platform branches: {}; set `platform` under \
         [environments.{env}.create] in stevedore.toml to one of them",
        candidates.len(),
        candidates.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ")
    )]
    Ambiguous {
        /// Our environment.
        env: String,
        /// What was asked for.
        wanted: String,
        /// The matching branches.
        candidates: Vec<String>,
    },
    /// No platform branch matches.
    #[error(
        "no Elastic Beanstalk platform matches `{wanted}`; the region offers: {}",
        available.join(", ")
    )]
    NoPlatform {
        /// What was asked for.
        wanted: String,
        /// The branches on offer.
        available: Vec<String>,
    },
    /// An operation needs the environment in another state.
    #[error("{0}")]
    State(String),
}

impl Coded for ProvisionError {
    fn exit_status(&self) -> ExitStatus {
        match self {
            ProvisionError::State(_) => ExitStatus::Busy,
            _ => ExitStatus::InvalidInput,
        }
    }
}

/// The platform versions in `Ready` state (all pages).
pub async fn platforms(eb: &Client) -> Result<Vec<PlatformOption>, AwsError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = eb
            .list_platform_versions()
            .filters(
                PlatformFilter::builder()
                    .r#type("PlatformStatus")
                    .operator("=")
                    .values("Ready")
                    .build(),
            )
            .max_records(100)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ListPlatformVersions", e))?;
        out.extend(page.platform_summary_list().iter().filter_map(|p| {
            Some(PlatformOption {
                arn: p.platform_arn()?.to_owned(),
                branch: p.platform_branch_name()?.to_owned(),
                version: p.platform_version().unwrap_or_default().to_owned(),
                branch_state: p
                    .platform_branch_lifecycle_state()
                    .unwrap_or_default()
                    .to_owned(),
            })
        }));
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => break,
        }
    }
    Ok(out)
}

/// Version numbers compared numerically part by part (`4.10.0` > `4.9.2`).
fn version_key(version: &str) -> Vec<u64> {
    version.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

/// Pick the platform for `wanted` (an ARN, a branch name, or words of one, case-insensitive):
/// the newest version of the one branch that matches; several branches are a clear error that
/// lists them. Retired branches are not offered.
pub fn choose_platform(
    env: &str,
    wanted: &str,
    offered: &[PlatformOption],
) -> Result<PlatformOption, ProvisionError> {
    if let Some(exact) = offered.iter().find(|p| p.arn == wanted) {
        return Ok(exact.clone());
    }
    let live: Vec<&PlatformOption> = offered
        .iter()
        .filter(|p| p.branch_state != "Retired")
        .collect();
    let lower = wanted.to_ascii_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    let exact: Vec<&PlatformOption> = live
        .iter()
        .copied()
        .filter(|p| p.branch.eq_ignore_ascii_case(wanted))
        .collect();
    let matching: Vec<&PlatformOption> = if exact.is_empty() {
        live.iter()
            .copied()
            .filter(|p| {
                let branch = p.branch.to_ascii_lowercase();
                words.iter().all(|w| branch.contains(w))
            })
            .collect()
    } else {
        exact
    };
    let mut branches: Vec<String> = matching.iter().map(|p| p.branch.clone()).collect();
    branches.sort();
    branches.dedup();
    match branches.len() {
        0 => {
            let mut available: Vec<String> = live.iter().map(|p| p.branch.clone()).collect();
            available.sort();
            available.dedup();
            Err(ProvisionError::NoPlatform {
                wanted: wanted.to_owned(),
                available,
            })
        }
        1 => Ok(matching
            .into_iter()
            .max_by_key(|p| version_key(&p.version))
            .cloned()
            .ok_or_else(|| ProvisionError::NoPlatform {
                wanted: wanted.to_owned(),
                available: Vec::new(),
            })?),
        _ => Err(ProvisionError::Ambiguous {
            env: env.to_owned(),
            wanted: wanted.to_owned(),
            candidates: branches,
        }),
    }
}

/// Make the application if it does not exist; whether it was made.
pub async fn ensure_application(eb: &Client, application: &str) -> Result<bool, AwsError> {
    let out = eb
        .describe_applications()
        .application_names(application)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("DescribeApplications", e))?;
    if out
        .applications()
        .iter()
        .any(|a| a.application_name() == Some(application))
    {
        return Ok(false);
    }
    eb.create_application()
        .application_name(application)
        .description("made by stevedore create")
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("CreateApplication", e))?;
    Ok(true)
}

/// A new environment.
#[derive(Debug, Clone, Default)]
pub struct NewEnvironment {
    /// The application.
    pub application: String,
    /// The EB environment name.
    pub name: String,
    /// The platform ARN.
    pub platform_arn: String,
    /// The CNAME prefix (EB's default: the name).
    pub cname_prefix: Option<String>,
    /// A version to launch with (default: EB's sample application).
    pub version_label: Option<String>,
    /// `(namespace, option, value)`.
    pub options: Vec<(String, String, String)>,
    /// `(key, value)`.
    pub tags: Vec<(String, String)>,
}

/// The namespace and option of the instance type.
pub const INSTANCE_TYPE: (&str, &str) = ("aws:autoscaling:launchconfiguration", "InstanceType");
/// The namespace of the Auto Scaling group's size.
pub const ASG_NAMESPACE: &str = "aws:autoscaling:asg";

fn setting(namespace: &str, option: &str, value: &str) -> ConfigurationOptionSetting {
    ConfigurationOptionSetting::builder()
        .namespace(namespace)
        .option_name(option)
        .value(value)
        .build()
}

/// `CreateEnvironment`; the environment as EB answered and the request id.
pub async fn create(
    eb: &Client,
    new: &NewEnvironment,
) -> Result<(EnvState, Option<String>), AwsError> {
    let mut request = eb
        .create_environment()
        .application_name(&new.application)
        .environment_name(&new.name)
        .platform_arn(&new.platform_arn)
        .set_cname_prefix(new.cname_prefix.clone())
        .set_version_label(new.version_label.clone())
        .description("made by stevedore create");
    for (namespace, option, value) in &new.options {
        request = request.option_settings(setting(namespace, option, value));
    }
    for (key, value) in &new.tags {
        request = request.tags(Tag::builder().key(key).value(value).build());
    }
    let out = request
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("CreateEnvironment", e))?;
    let request_id = out.request_id().map(str::to_owned);
    let state = environment::require(eb, &new.application, &new.name).await?;
    Ok((state, request_id))
}

/// `TerminateEnvironment` (with its resources); the request id.
pub async fn terminate(eb: &Client, name: &str) -> Result<Option<String>, AwsError> {
    let out = eb
        .terminate_environment()
        .environment_name(name)
        .terminate_resources(true)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("TerminateEnvironment", e))?;
    Ok(out.request_id().map(str::to_owned))
}

/// `SwapEnvironmentCNAMEs`; the request id.
pub async fn swap(
    eb: &Client,
    source: &str,
    destination: &str,
) -> Result<Option<String>, AwsError> {
    let out = eb
        .swap_environment_cnames()
        .source_environment_name(source)
        .destination_environment_name(destination)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("SwapEnvironmentCNAMEs", e))?;
    Ok(out.request_id().map(str::to_owned))
}

/// Set the Auto Scaling group to exactly `instances` (MinSize = MaxSize, as `eb scale`); the
/// request id.
pub async fn scale(eb: &Client, name: &str, instances: u32) -> Result<Option<String>, AwsError> {
    let count = instances.to_string();
    let out = eb
        .update_environment()
        .environment_name(name)
        .option_settings(setting(ASG_NAMESPACE, "MinSize", &count))
        .option_settings(setting(ASG_NAMESPACE, "MaxSize", &count))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("UpdateEnvironment", e))?;
    Ok(out.request_id().map(str::to_owned))
}

/// Where a wait should end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// Ready (after a create, swap, scale or configuration change).
    Ready,
    /// Gone (after a terminate).
    Terminated,
}

/// How a wait ended.
#[derive(Debug)]
pub enum Waited {
    /// The goal was reached; the state (None: terminated).
    Done(Option<EnvState>),
    /// A failure event of the operation.
    Failed(String),
    /// The deadline came first.
    TimedOut(Option<EnvState>),
    /// Ctrl-C.
    Interrupted,
}

/// Event texts that close the operations waited for here, besides [`terminal_outcome`]'s.
fn closes_successfully(message: &str) -> bool {
    message.starts_with("Completed swapping CNAMEs")
        || message == "terminateEnvironment completed successfully."
}

/// Whether `event` belongs to the operation with `request_id` (all do without one).
fn ours(request_id: Option<&str>, event: &EbEvent) -> bool {
    match (request_id, event.request_id.as_deref()) {
        (Some(ours), Some(theirs)) => ours == theirs,
        _ => true,
    }
}

/// Wait for `name`'s operation (the one `request_id` started, or whatever runs) to end, from
/// `since_ms`; `on_event` hears each of its events. Polls at most once a second per API.
#[allow(clippy::too_many_arguments)]
pub async fn wait(
    eb: &Client,
    application: &str,
    name: &str,
    request_id: Option<&str>,
    until: Until,
    since_ms: i64,
    deadline: Instant,
    on_event: &mut dyn FnMut(&EbEvent),
) -> Result<Waited, AwsError> {
    let mut poller = EventPoller::new(application, name, since_ms);
    let started = Instant::now();
    let mut closed = false;
    let mut left_ready = request_id.is_none();
    let mut last: Option<EnvState> = None;
    loop {
        let events = tokio::select! {
            events = poller.poll(eb) => events?,
            _ = tokio::signal::ctrl_c() => return Ok(Waited::Interrupted),
        };
        for event in events.iter().filter(|e| ours(request_id, e)) {
            on_event(event);
            match terminal_outcome(&event.message) {
                Some(false) if request_id.is_some() => {
                    return Ok(Waited::Failed(event.message.clone()));
                }
                Some(true) => closed = true,
                _ if closes_successfully(&event.message) => closed = true,
                _ => {}
            }
        }
        let state = tokio::select! {
            state = environment::describe(eb, application, name) => state?,
            _ = tokio::signal::ctrl_c() => return Ok(Waited::Interrupted),
        };
        match (&state, until) {
            (None, Until::Terminated) => return Ok(Waited::Done(None)),
            (None, Until::Ready) => {
                return Ok(Waited::Failed(format!("environment {name} is gone")));
            }
            (Some(s), Until::Ready) if s.is_ready() && (closed || left_ready) => {
                return Ok(Waited::Done(state));
            }
            (Some(s), _) if !s.is_ready() => left_ready = true,
            _ => {}
        }
        last = state.or(last);
        let pause = super::pace::poll_interval(started.elapsed()).min(Duration::from_secs(5));
        if Instant::now() + pause > deadline {
            return Ok(Waited::TimedOut(last));
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = tokio::signal::ctrl_c() => return Ok(Waited::Interrupted),
        }
    }
}

/// Milliseconds since the epoch, now, less a second of slack for clocks (events are stamped by
/// Elastic Beanstalk): where the events of an operation sent now start.
pub fn events_start_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
        - 1_000
}

/// An operation that was sent and is to be followed.
#[derive(Debug, Clone)]
pub struct Operation<'a> {
    /// The application.
    pub application: &'a str,
    /// The EB environment.
    pub environment: &'a str,
    /// Our environment's name, for the hints.
    pub env: &'a str,
    /// The request id of the operation (None: whatever runs).
    pub request_id: Option<&'a str>,
    /// What ends it.
    pub until: Until,
    /// Where its events start.
    pub since_ms: i64,
    /// What it is, for messages: `the creation of demo-prod`.
    pub what: &'a str,
}

/// Follow `op` to its end, emitting its events; the final state (None: terminated). A failure
/// is exit 7, the deadline 8, Ctrl-C 130 — each saying that `stevedore wait <env>` attaches again.
pub async fn follow(
    eb: &Client,
    op: &Operation<'_>,
    deadline: Instant,
    emit: &dyn Fn(crate::output::Event),
) -> anyhow::Result<Option<EnvState>> {
    let _own_ctrl_c = crate::interrupt::SelfHandled::enter();
    let waited = wait(
        eb,
        op.application,
        op.environment,
        op.request_id,
        op.until,
        op.since_ms,
        deadline,
        &mut |event| emit(crate::output::Event::info(event.line())),
    )
    .await?;
    let again = crate::hint::command(&["wait", op.env]);
    let error = |status, text: String| crate::exit::CommandError::new(status, text).into();
    match waited {
        Waited::Done(state) => Ok(state),
        Waited::Failed(reason) => Err(error(
            ExitStatus::DeployFailed,
            format!("{} failed: {reason}", op.what),
        )),
        Waited::TimedOut(state) => Err(error(
            ExitStatus::TimedOut,
            format!(
                "timed out waiting for {}{}; it goes on in Elastic Beanstalk: `{again}` waits again",
                op.what,
                state
                    .map(|s| format!(" (environment {}, health {})", s.status, s.health))
                    .unwrap_or_default()
            ),
        )),
        Waited::Interrupted => Err(error(
            ExitStatus::Interrupted,
            format!(
                "stopped waiting for {} (Ctrl-C); it goes on in Elastic Beanstalk: `{again}` \
                 waits again",
                op.what
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn option(branch: &str, version: &str, state: &str) -> PlatformOption {
        PlatformOption {
            arn: format!("arn:aws:elasticbeanstalk:us-east-1::platform/{branch}/{version}"),
            branch: branch.into(),
            version: version.into(),
            branch_state: state.into(),
        }
    }

    #[test]
    fn platforms_by_branch_newest_version_ambiguity_named() {
        let offered = vec![
            option(
                "Docker running on 64bit Amazon Linux 2023",
                "4.4.0",
                "Supported",
            ),
            option(
                "Docker running on 64bit Amazon Linux 2023",
                "4.10.1",
                "Supported",
            ),
            option(
                "Docker running on 64bit Amazon Linux 2",
                "3.9.0",
                "Supported",
            ),
            option(
                "ECS running on 64bit Amazon Linux 2023",
                "4.4.0",
                "Supported",
            ),
            option("ECS running on 64bit Amazon Linux 2", "3.1.0", "Retired"),
        ];
        let chosen = choose_platform(
            "prod",
            "docker running on 64bit amazon linux 2023",
            &offered,
        )
        .expect("one branch");
        assert_eq!(chosen.version, "4.10.1");
        // Words of a branch: "ECS" alone matches one live branch (the AL2 one is retired).
        let chosen = choose_platform("prod", "ECS", &offered).expect("ecs");
        assert_eq!(chosen.branch, "ECS running on 64bit Amazon Linux 2023");
        let err = choose_platform("prod", "Docker", &offered).expect_err("two branches");
        let text = err.to_string();
        assert!(
            text.contains("\"Docker running on 64bit Amazon Linux 2\"")
                && text.contains("[environments.prod.create]"),
            "{text}"
        );
        assert!(matches!(
            choose_platform("prod", "Tomcat", &offered),
            Err(ProvisionError::NoPlatform { .. })
        ));
        let arn = offered[0].arn.clone();
        assert_eq!(
            choose_platform("prod", &arn, &offered)
                .expect("arn")
                .version,
            "4.4.0"
        );
    }
}
