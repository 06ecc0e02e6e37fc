//! Environments as things to make and unmake: choose a platform (ListPlatformVersions), create
//! an environment (with its instance type, option settings and tags), terminate it, swap two
//! environments' CNAMEs (blue/green), scale it. Following these to their end is
//! [`crate::eb::operation`]'s.

use aws_sdk_elasticbeanstalk::Client;
use aws_sdk_elasticbeanstalk::operation::RequestId;
use aws_sdk_elasticbeanstalk::types::{ConfigurationOptionSetting, PlatformFilter, Tag};

use super::environment::{self, EnvState};
use super::error::AwsError;
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
