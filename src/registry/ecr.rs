//! Amazon ECR: registry credentials from `GetAuthorizationToken`, and the repository a push
//! needs (`DescribeRepositories`, optionally `CreateRepository`), with the configured AWS
//! profile, the region of the registry host and the SDK's standard chain (so
//! `AWS_ENDPOINT_URL_ECR` / `AWS_ENDPOINT_URL` reach an ECR-compatible endpoint).
//!
//! Tokens are cached in memory for the run, per registry and profile, until shortly before the
//! `expiresAt` ECR gives them (12 hours): a publish of several images asks once. They are never
//! written to disk (a 12-hour registry password in a cache file is one more secret to leak, and
//! one call per run costs a fraction of a second) and never logged: [`Resolved`]'s `Debug`
//! masks the password.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use base64::Engine;

use super::credentials::Resolved;
use crate::exit::{Coded, ExitStatus};

/// A token this close to its expiry is fetched again: a push that starts with it must not see
/// it expire half-way.
const EXPIRY_MARGIN: Duration = Duration::from_secs(15 * 60);

/// Why ECR could not give what a push needs.
#[derive(Debug, thiserror::Error)]
pub enum EcrError {
    /// `GetAuthorizationToken` failed or answered something unusable.
    #[error(
        "cannot get an ECR login token for {registry}: {reason}. Check the AWS credentials of \
         the configured profile (`stevedore doctor`) and that they allow ecr:GetAuthorizationToken"
    )]
    Token {
        /// The registry host.
        registry: String,
        /// What failed.
        reason: String,
    },
    /// The repository does not exist and creating it was not asked for.
    #[error(
        "ECR repository {name} does not exist in {registry}: create it (`aws ecr \
         create-repository --repository-name {name} --region {region}`) or publish with \
         --create-repository"
    )]
    NoRepository {
        /// The registry host.
        registry: String,
        /// The repository name.
        name: String,
        /// The registry's region.
        region: String,
    },
    /// `DescribeRepositories` or `CreateRepository` failed.
    #[error(
        "ECR {operation} for {name} in {registry} failed: {reason}. Check that the AWS \
         credentials of the configured profile allow ecr:{operation}"
    )]
    Repository {
        /// The API operation.
        operation: &'static str,
        /// The registry host.
        registry: String,
        /// The repository name.
        name: String,
        /// The AWS error code and message.
        reason: String,
    },
}

impl Coded for EcrError {
    fn exit_status(&self) -> ExitStatus {
        ExitStatus::Registry
    }
}

/// An ECR registry host `<account>.dkr.ecr.<region>.amazonaws.com[:port]`, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrHost<'a> {
    /// The 12-digit account (the registry id).
    pub account: &'a str,
    /// The region.
    pub region: &'a str,
}

/// The account and region of an ECR host, or `None` for any other registry.
pub fn parse_host(registry: &str) -> Option<EcrHost<'_>> {
    let host = registry.split(':').next().unwrap_or(registry);
    let mut parts = host.split('.');
    let (account, dkr, ecr, region) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    (dkr == "dkr" && ecr == "ecr").then_some(EcrHost { account, region })
}

/// The region of an ECR host `<account>.dkr.ecr.<region>.amazonaws.com`.
pub fn region_of(registry: &str) -> Option<&str> {
    parse_host(registry).map(|h| h.region)
}

/// The repository name of `repository` (`host/name`) on `registry`: `name`.
pub fn repository_name<'a>(registry: &str, repository: &'a str) -> &'a str {
    repository
        .strip_prefix(registry)
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or(repository)
}

/// What [`ensure_repository`] found or did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepositoryState {
    /// It was there.
    Existing,
    /// It was created now.
    Created,
}

/// A token and when it stops working.
struct CachedToken {
    credentials: Resolved,
    expires_at: SystemTime,
}

/// A registry host and the profile its token was asked with.
type TokenKey = (String, Option<String>);

/// Tokens of this run.
static TOKENS: Mutex<Option<HashMap<TokenKey, CachedToken>>> = Mutex::new(None);

/// Basic credentials (`AWS` + token) for `registry`: the cached token while it has more than
/// [`EXPIRY_MARGIN`] left, else a new one from `GetAuthorizationToken`.
pub async fn login(registry: &str, profile: Option<&str>) -> Result<Resolved, EcrError> {
    let key = (registry.to_owned(), profile.map(str::to_owned));
    if let Some(cached) = cached(&key) {
        tracing::debug!("ECR token for {registry}: cached");
        return Ok(cached);
    }
    let fail = |reason: String| EcrError::Token {
        registry: registry.to_owned(),
        reason,
    };
    let client = client(registry, profile).await;
    let answer = client
        .get_authorization_token()
        .send()
        .await
        .map_err(|e| fail(describe(&e)))?;
    let data = answer
        .authorization_data()
        .first()
        .ok_or_else(|| fail("the answer held no authorization data".into()))?;
    let token = data
        .authorization_token()
        .ok_or_else(|| fail("the answer held no authorization token".into()))?;
    let credentials = decode_token(token).map_err(fail)?;
    // Without an expiry, the token is used for this call only.
    let expires_at = data
        .expires_at()
        .and_then(|t| SystemTime::try_from(*t).ok())
        .unwrap_or(SystemTime::UNIX_EPOCH);
    tracing::debug!("ECR token for {registry}: new");
    TOKENS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_or_insert_with(HashMap::new)
        .insert(
            key,
            CachedToken {
                credentials: credentials.clone(),
                expires_at,
            },
        );
    Ok(credentials)
}

fn cached(key: &TokenKey) -> Option<Resolved> {
    let tokens = TOKENS.lock().unwrap_or_else(|p| p.into_inner());
    let token = tokens.as_ref()?.get(key)?;
    let fresh = token
        .expires_at
        .duration_since(SystemTime::now())
        .is_ok_and(|left| left > EXPIRY_MARGIN);
    fresh.then(|| token.credentials.clone())
}

/// Make sure repository `name` exists on `registry` before a push (ECR, unlike most
/// registries, refuses a push to a repository that does not exist): `DescribeRepositories`, then
/// `CreateRepository` when `create` allows it.
pub async fn ensure_repository(
    registry: &str,
    name: &str,
    profile: Option<&str>,
    create: bool,
) -> Result<RepositoryState, EcrError> {
    use aws_sdk_ecr::error::ProvideErrorMetadata;
    let host = parse_host(registry);
    let account = host.as_ref().map(|h| h.account.to_owned());
    let region = host.as_ref().map(|h| h.region).unwrap_or("?").to_owned();
    let failed = |operation: &'static str, reason: String| EcrError::Repository {
        operation,
        registry: registry.to_owned(),
        name: name.to_owned(),
        reason,
    };
    let client = client(registry, profile).await;
    let described = client
        .describe_repositories()
        .set_registry_id(account.clone())
        .repository_names(name)
        .send()
        .await;
    match described {
        Ok(answer)
            if answer
                .repositories()
                .iter()
                .any(|r| r.repository_name() == Some(name)) =>
        {
            return Ok(RepositoryState::Existing);
        }
        Ok(_) => {}
        Err(e) if e.code() == Some("RepositoryNotFoundException") => {}
        Err(e) => return Err(failed("DescribeRepositories", describe(&e))),
    }
    if !create {
        return Err(EcrError::NoRepository {
            registry: registry.to_owned(),
            name: name.to_owned(),
            region,
        });
    }
    match client
        .create_repository()
        .set_registry_id(account)
        .repository_name(name)
        .send()
        .await
    {
        Ok(_) => Ok(RepositoryState::Created),
        // Another publish created it in between: what was wanted.
        Err(e) if e.code() == Some("RepositoryAlreadyExistsException") => {
            Ok(RepositoryState::Existing)
        }
        Err(e) => Err(failed("CreateRepository", describe(&e))),
    }
}

/// An ECR client for the registry's region and `profile`, through the SDK's standard chain.
async fn client(registry: &str, profile: Option<&str>) -> aws_sdk_ecr::Client {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(crate::aws::sdk::timeout_config())
        .http_client(crate::aws::sdk::http_client());
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = region_of(registry) {
        loader = loader.region(aws_config::Region::new(region.to_owned()));
    }
    aws_sdk_ecr::Client::new(&loader.load().await)
}

/// `Code: message` of an AWS error, else its source chain (never a `Debug` dump).
fn describe<E, R>(e: &aws_sdk_ecr::error::SdkError<E, R>) -> String
where
    E: aws_sdk_ecr::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_ecr::error::ProvideErrorMetadata;
    match e.code() {
        Some(code) => format!("{code}: {}", e.message().unwrap_or_default()),
        None => crate::aws::error::error_chain(e),
    }
}

/// An ECR authorization token is base64 of `user:password` (the user is `AWS`).
fn decode_token(token: &str) -> Result<Resolved, String> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token)
        .map_err(|e| format!("the token is not base64: {e}"))?;
    let text = String::from_utf8(decoded).map_err(|_| "the token is not UTF-8".to_owned())?;
    let (username, password) = text
        .split_once(':')
        .ok_or_else(|| "the token is not user:password".to_owned())?;
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
        assert_eq!(
            parse_host("123456789012.dkr.ecr.eu-west-1.amazonaws.com:5000"),
            Some(EcrHost {
                account: "123456789012",
                region: "eu-west-1"
            })
        );
        assert_eq!(region_of("localhost:5000"), None);
    }

    #[test]
    fn tokens_decode_to_basic_credentials() {
        let token = base64::engine::general_purpose::STANDARD.encode("AWS:secret:with:colons");
        assert_eq!(
            decode_token(&token),
            Ok(Resolved::Basic {
                username: "AWS".into(),
                password: "secret:with:colons".into()
            })
        );
        assert!(decode_token("not base64!").is_err());
        let no_colon = base64::engine::general_purpose::STANDARD.encode("AWS");
        assert!(decode_token(&no_colon).is_err());
    }

    #[test]
    fn tokens_near_expiry_are_not_reused() {
        let key = (
            "cache-test.dkr.ecr.eu-west-1.amazonaws.com".to_owned(),
            None,
        );
        let put = |expires_at| {
            TOKENS
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert_with(HashMap::new)
                .insert(
                    key.clone(),
                    CachedToken {
                        credentials: Resolved::Anonymous,
                        expires_at,
                    },
                )
        };
        put(SystemTime::now() + Duration::from_secs(12 * 3600));
        assert_eq!(cached(&key), Some(Resolved::Anonymous));
        put(SystemTime::now() + Duration::from_secs(60));
        assert_eq!(cached(&key), None);
        put(SystemTime::UNIX_EPOCH);
        assert_eq!(cached(&key), None);
    }
}
