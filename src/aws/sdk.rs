//! The AWS SDK clients, configured only the standard ways: the profile and region from
//! settings, then the SDK's own chain (environment variables, shared files, SSO, container and
//! instance roles) and its per-service endpoint variables (`AWS_ENDPOINT_URL_S3`,
//! `AWS_ENDPOINT_URL_ELASTIC_BEANSTALK`). Path-style S3 addressing is the one switch the SDK has
//! no variable for, so it comes from `[aws] s3_path_style`. When the environment names its
//! `account_id`, the credentials are checked against it before any client is handed out.

use std::time::Duration;

use std::time::Instant;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_elasticbeanstalk::config::ProvideCredentials;

use super::deadline::{BoundedHttpClient, Deadline};
use super::error::AwsError;
use super::pace::RequestMeter;

/// Where and as whom to talk to AWS.
#[derive(Debug, Clone, Default)]
pub struct AwsTarget {
    /// The named profile, when one is configured (otherwise the SDK's default chain).
    pub profile: Option<String>,
    /// The region, when configured (otherwise the SDK's chain).
    pub region: Option<String>,
    /// Address buckets as `endpoint/bucket` (S3-compatible stores) rather than `bucket.endpoint`.
    pub s3_path_style: bool,
    /// The account the environment lives in: when set, the credentials must belong to it
    /// (checked with STS before any client is handed out), with the environment's name.
    pub account: Option<(String, String)>,
}

/// The clients a deploy uses.
#[derive(Debug, Clone)]
pub struct Clients {
    /// Elastic Beanstalk.
    pub eb: aws_sdk_elasticbeanstalk::Client,
    /// S3.
    pub s3: aws_sdk_s3::Client,
    /// STS (who the credentials are).
    pub sts: aws_sdk_sts::Client,
    /// The credentials the clients use (for the requests stevedore signs itself).
    pub credentials: aws_sdk_elasticbeanstalk::config::SharedCredentialsProvider,
    /// The region in use.
    pub region: String,
    /// The command's deadline, shared by every call of both clients.
    pub deadline: Deadline,
}

impl Clients {
    /// End every call of these clients by `at`: one in flight is cut, later ones fail at once
    /// (exit 8). Called once a command knows its `--timeout`; a later, later deadline (a
    /// rollback's) cannot extend it.
    pub fn bound_by(&self, at: Instant) {
        self.deadline.set(at);
    }
}

/// Retries with jittered exponential backoff: throttling ("Rate exceeded") and 5xx answers are
/// waited out rather than failing a deploy that is otherwise fine.
fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(10)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(20))
}

/// Connect and read timeouts for every call, so no request waits forever even without a
/// command deadline (the SDK sets none for reads by default). An attempt cut by them is retried.
pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(30))
        .operation_attempt_timeout(Duration::from_secs(60))
        .operation_timeout(Duration::from_secs(300))
        .build()
}

/// The SDK's HTTPS client (rustls with aws-lc, as its default) with the proxies of the
/// environment: `HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`, in either case. The SDK's default
/// client ignores them.
pub fn http_client() -> aws_sdk_s3::config::SharedHttpClient {
    use aws_smithy_http_client::{Builder, Connector, proxy::ProxyConfig, tls};
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut builder = Connector::builder();
        if let Some(settings) = settings {
            builder = builder.connector_settings(settings.clone());
        }
        if let Some(sleep) = components.and_then(|c| c.sleep_impl()) {
            builder = builder.sleep_impl(sleep);
        }
        builder
            .proxy_config(ProxyConfig::from_env())
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::AwsLc,
            ))
            .build()
    })
}

/// Build the clients, checking up front that credentials resolve (a clear exit 6 instead of a
/// failed request later).
pub async fn clients(target: &AwsTarget) -> Result<Clients, AwsError> {
    let deadline = Deadline::none();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(retry_config())
        .timeout_config(timeout_config())
        .http_client(BoundedHttpClient::new(http_client(), deadline.clone()));
    if let Some(profile) = &target.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &target.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    let config = loader.load().await;
    let region = config
        .region()
        .map(|r| r.as_ref().to_owned())
        .ok_or(AwsError::NoRegion)?;
    super::error::set_scope(super::error::Scope {
        region: region.clone(),
        profile: target
            .profile
            .clone()
            .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()))
            .unwrap_or_else(|| "default".into()),
    });
    let provider = config
        .credentials_provider()
        .ok_or_else(|| AwsError::Credentials {
            detail: "no credentials provider".into(),
        })?;
    provider
        .provide_credentials()
        .await
        .map_err(|e| AwsError::Credentials {
            detail: super::error::error_chain(&e),
        })?;
    let sts = aws_sdk_sts::Client::new(&config);
    if let Some((environment, expected)) = &target.account {
        let caller = super::identity::caller(&sts).await?;
        super::identity::check(environment, expected, &caller)?;
    }
    let eb_config = aws_sdk_elasticbeanstalk::config::Builder::from(&config)
        .interceptor(RequestMeter)
        .build();
    let s3_config = aws_sdk_s3::config::Builder::from(&config)
        .force_path_style(target.s3_path_style)
        .interceptor(RequestMeter)
        .build();
    Ok(Clients {
        eb: aws_sdk_elasticbeanstalk::Client::from_conf(eb_config),
        s3: aws_sdk_s3::Client::from_conf(s3_config),
        sts,
        credentials: provider,
        region,
        deadline,
    })
}

/// `true`, `1`, `yes` and `on` (any case) switch a boolean setting on.
pub fn truthy(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "true" | "1" | "yes" | "on"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans() {
        for (v, want) in [
            (Some("true"), true),
            (Some("1"), true),
            (Some("YES"), true),
            (Some("false"), false),
            (Some("0"), false),
            (None, false),
        ] {
            assert_eq!(truthy(v), want, "{v:?}");
        }
    }
}
