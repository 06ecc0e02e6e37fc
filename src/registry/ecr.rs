//! Amazon ECR: registry credentials from `GetAuthorizationToken` with the configured AWS
//! profile and region (the token is valid for 12 hours and is never stored).

use base64::Engine;

use super::credentials::Resolved;
use crate::exit::{Coded, ExitStatus};

/// Why an ECR token could not be had.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot get an ECR login token for {registry}: {reason}. Check the AWS credentials of the \
     configured profile (`stevedore doctor`) and that they allow ecr:GetAuthorizationToken"
)]
pub struct EcrError {
    registry: String,
    reason: String,
}

impl Coded for EcrError {
    fn exit_status(&self) -> ExitStatus {
        ExitStatus::Registry
    }
}

/// The region of an ECR host `<account>.dkr.ecr.<region>.amazonaws.com`.
pub fn region_of(registry: &str) -> Option<&str> {
    let host = registry.split(':').next().unwrap_or(registry);
    let mut parts = host.split('.');
    let (_account, dkr, ecr, region) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    (dkr == "dkr" && ecr == "ecr").then_some(region)
}

/// Basic credentials (`AWS` + token) for `registry`.
pub async fn login(registry: &str, profile: Option<&str>) -> Result<Resolved, EcrError> {
    let fail = |reason: String| EcrError {
        registry: registry.to_owned(),
        reason,
    };
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(crate::aws::sdk::timeout_config())
        .http_client(crate::aws::sdk::http_client());
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = region_of(registry) {
        loader = loader.region(aws_config::Region::new(region.to_owned()));
    }
    let config = loader.load().await;
    let client = aws_sdk_ecr::Client::new(&config);
    let answer = client.get_authorization_token().send().await.map_err(|e| {
        use aws_sdk_ecr::error::ProvideErrorMetadata;
        fail(match e.code() {
            Some(code) => format!("{code}: {}", e.message().unwrap_or_default()),
            None => crate::aws::error::error_chain(&e),
        })
    })?;
    let token = answer
        .authorization_data()
        .first()
        .and_then(|d| d.authorization_token())
        .ok_or_else(|| fail("the answer held no authorization token".into()))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token)
        .map_err(|e| fail(format!("the token is not base64: {e}")))?;
    let text = String::from_utf8(decoded).map_err(|_| fail("the token is not UTF-8".into()))?;
    let (username, password) = text
        .split_once(':')
        .ok_or_else(|| fail("the token is not user:password".into()))?;
    Ok(Resolved::Basic {
        username: username.to_owned(),
        password: password.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_from_hosts() {
        assert_eq!(
            region_of("123456789012.dkr.ecr.eu-west-1.amazonaws.com"),
            Some("eu-west-1")
        );
        assert_eq!(region_of("localhost:5000"), None);
    }
}
