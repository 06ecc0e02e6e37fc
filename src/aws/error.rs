//! AWS failures, mapped onto the exit-code contract: API errors and credentials AWS refuses or
//! that cannot be found 6 (registry credentials are 5, elsewhere), an environment that is busy
//! 10, a deadline 8, a missing region or environment (configuration) 3.

use std::fmt::Debug;
use std::sync::OnceLock;

use aws_sdk_elasticbeanstalk::error::{ProvideErrorMetadata, SdkError};

use crate::exit::{Coded, ExitStatus};

/// What went wrong talking to AWS.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// No credentials could be resolved.
    #[error(
        "no usable AWS credentials{} ({detail}); {}",
        scope_text(None),
        credentials_fix(detail)
    )]
    Credentials {
        /// What the SDK said.
        detail: String,
    },
    /// No region is configured.
    #[error(
        "no AWS region: set `region` under [aws] in stevedore.toml, pass --region, or export \
         AWS_REGION"
    )]
    NoRegion,
    /// The Elastic Beanstalk environment does not exist.
    #[error(
        "Elastic Beanstalk has no environment `{environment}` in application `{application}`; \
         create it (EB console or `eb create`) or set `eb_environment` under \
         [environments.<env>] in stevedore.toml"
    )]
    NoEnvironment {
        /// The application.
        application: String,
        /// The environment name.
        environment: String,
    },
    /// The environment is in the middle of another operation.
    #[error("{message}")]
    Busy {
        /// What AWS (or the wait) said, with what to do.
        message: String,
    },
    /// The credentials belong to another account than the environment's `account_id`.
    #[error(
        "environment {environment} lives in AWS account {expected}, but the credentials in use{} \
         belong to account {actual} ({arn}); nothing was changed. Use that account's profile \
         (`--profile`, or `profile` under [environments.{environment}] in stevedore.toml), or fix \
         `account_id`",
        scope_text(None)
    )]
    WrongAccount {
        /// Our environment's name.
        environment: String,
        /// `account_id` from the settings.
        expected: String,
        /// The account of the credentials.
        actual: String,
        /// The caller's ARN.
        arn: String,
    },
    /// AWS answered with an error.
    #[error(
        "{} {operation} failed{}: {code}: {message}{}",
        service_of(operation),
        scope_text(Some(operation)),
        api_fix(operation, code)
    )]
    Api {
        /// The API operation.
        operation: &'static str,
        /// The error code, e.g. `InvalidParameterValue`.
        code: String,
        /// AWS's message.
        message: String,
    },
    /// The request never got an answer (network, endpoint, timeout).
    #[error(
        "{} {operation}: no answer from AWS{}: {detail}. Check the network (and HTTPS_PROXY), \
         the region, and AWS_ENDPOINT_URL if you use one",
        service_of(operation),
        scope_text(Some(operation))
    )]
    Unreachable {
        /// The API operation.
        operation: &'static str,
        /// Why.
        detail: String,
    },
    /// The command's deadline passed while AWS had not answered.
    #[error(
        "{} {operation}: no answer before the deadline (--timeout, or [deploy] timeout in \
         stevedore.toml){}. Whatever AWS had already accepted goes on there; `stevedore status` \
         with --remote shows the environment",
        service_of(operation),
        scope_text(Some(operation))
    )]
    Deadline {
        /// The API operation that was waiting.
        operation: &'static str,
    },
    /// A response lacked something it always has.
    #[error("{operation}: unexpected answer: {detail}")]
    Unexpected {
        /// The API operation.
        operation: &'static str,
        /// What was missing.
        detail: String,
    },
}

impl Coded for AwsError {
    fn exit_status(&self) -> ExitStatus {
        match self {
            AwsError::NoRegion | AwsError::NoEnvironment { .. } => ExitStatus::InvalidInput,
            AwsError::Busy { .. } => ExitStatus::Busy,
            AwsError::Deadline { .. } => ExitStatus::TimedOut,
            AwsError::Credentials { .. }
            | AwsError::WrongAccount { .. }
            | AwsError::Api { .. }
            | AwsError::Unreachable { .. }
            | AwsError::Unexpected { .. } => ExitStatus::Aws,
        }
    }
}

impl AwsError {
    /// Classify an SDK error of `operation` (the SDK has already retried what can be retried).
    pub fn from_sdk<E, R>(operation: &'static str, err: SdkError<E, R>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: Debug,
    {
        match &err {
            SdkError::ServiceError(_) | SdkError::ResponseError(_) => {
                let code = err.code().unwrap_or("Unknown").to_owned();
                let message = err.message().unwrap_or_default().to_owned();
                if message.contains("invalid state for this operation") {
                    return AwsError::Busy {
                        message: format!(
                            "{message} Another operation is running; wait for it or run `deploy \
                             --abort`"
                        ),
                    };
                }
                if code == "InvalidClientTokenId"
                    || code == "UnrecognizedClientException"
                    || code == "SignatureDoesNotMatch"
                    || code == "ExpiredToken"
                {
                    return AwsError::Credentials {
                        detail: format!("{code}: {message}"),
                    };
                }
                AwsError::Api {
                    operation,
                    code,
                    message,
                }
            }
            _ if super::deadline::is_deadline(&err) => AwsError::Deadline { operation },
            _ => {
                let detail = error_chain(&err);
                if detail.contains("credentials") || detail.contains("Credentials") {
                    AwsError::Credentials { detail }
                } else {
                    AwsError::Unreachable { operation, detail }
                }
            }
        }
    }

    /// The AWS error code, for API errors.
    pub fn code(&self) -> Option<&str> {
        match self {
            AwsError::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The AWS message, for API errors.
    pub fn api_message(&self) -> Option<&str> {
        match self {
            AwsError::Api { message, .. } => Some(message),
            _ => None,
        }
    }
}

/// Where requests go, recorded once the clients are configured, so that every error can say
/// it (the SDK's errors do not).
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// The region in use.
    pub region: String,
    /// The profile (`default` unless named).
    pub profile: String,
}

static SCOPE: OnceLock<Scope> = OnceLock::new();

/// Record the region and profile in use (first call wins: one process, one target).
pub fn set_scope(scope: Scope) {
    let _ = SCOPE.set(scope);
}

/// An error and its sources in one line, each by its `Display` (never `Debug`).
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !more.is_empty() && !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

/// The AWS service an operation belongs to.
pub fn service_of(operation: &str) -> &'static str {
    match operation {
        "PutObject"
        | "HeadObject"
        | "GetObject"
        | "DeleteObject"
        | "CreateMultipartUpload"
        | "UploadPart"
        | "CompleteMultipartUpload"
        | "AbortMultipartUpload"
        | "ListObjectsV2"
        | "HeadBucket"
        | "CreateBucket" => "S3",
        "GetAuthorizationToken"
        | "DescribeRepositories"
        | "CreateRepository"
        | "BatchGetImage"
        | "DescribeImages" => "ECR",
        "GetCallerIdentity" => "STS",
        "DescribeLogGroups" | "FilterLogEvents" => "CloudWatch Logs",
        "" => "AWS",
        _ => "Elastic Beanstalk",
    }
}

/// The environment variable naming a service's endpoint, as the SDK reads it.
fn endpoint_variable(service: &str) -> &'static str {
    match service {
        "S3" => "AWS_ENDPOINT_URL_S3",
        "ECR" => "AWS_ENDPOINT_URL_ECR",
        "STS" => "AWS_ENDPOINT_URL_STS",
        "CloudWatch Logs" => "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
        _ => "AWS_ENDPOINT_URL_ELASTIC_BEANSTALK",
    }
}

/// The endpoint requests of `service` go to, and why.
pub fn endpoint_of(service: &str, region: &str) -> String {
    let specific = endpoint_variable(service);
    for var in [specific, "AWS_ENDPOINT_URL"] {
        if let Some(url) = std::env::var(var).ok().filter(|v| !v.is_empty()) {
            return format!("{url} (from {var})");
        }
    }
    let host = match service {
        "S3" => "s3",
        "ECR" => "api.ecr",
        "STS" => "sts",
        "CloudWatch Logs" => "logs",
        _ => "elasticbeanstalk",
    };
    format!("https://{host}.{region}.amazonaws.com")
}

/// " (endpoint …, region …, profile …)" when the clients were configured.
fn scope_text(operation: Option<&str>) -> String {
    let Some(scope) = SCOPE.get() else {
        return String::new();
    };
    match operation {
        Some(operation) => format!(
            " (endpoint {}, region {}, profile {})",
            endpoint_of(service_of(operation), &scope.region),
            scope.region,
            scope.profile
        ),
        None => format!(" for profile {} in region {}", scope.profile, scope.region),
    }
}

fn profile_name() -> String {
    SCOPE
        .get()
        .map(|s| s.profile.clone())
        .unwrap_or_else(|| "default".into())
}

/// What to do about credentials that did not work.
fn credentials_fix(detail: &str) -> String {
    let profile = profile_name();
    let lower = detail.to_ascii_lowercase();
    if lower.contains("sso") || lower.contains("expired") || lower.contains("token") {
        format!(
            "the session has expired or was never started: run `aws sso login --profile {profile}` \
             (or refresh the keys of profile {profile})"
        )
    } else {
        format!(
            "pass --profile or set [aws] profile, run `aws configure --profile {profile}` or \
             `aws sso login --profile {profile}`, or export AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY"
        )
    }
}

/// The fix for an API error code, when one is known.
fn api_fix(operation: &str, code: &str) -> String {
    match code {
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => format!(
            ". The identity of profile {} may not call {operation}: grant it in IAM, or use \
             another --profile",
            profile_name()
        ),
        "PermanentRedirect"
        | "AuthorizationHeaderMalformed"
        | "IllegalLocationConstraintException" => {
            ". The resource lives in another region: pass --region or set [aws] region".into()
        }
        "NoSuchBucket" => ". Check the bucket name and the region".into(),
        "Throttling" | "ThrottlingException" | "RequestLimitExceeded" => {
            ". AWS is rate limiting this account; retry in a minute".into()
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_one_paragraph_with_a_fix_and_no_debug_dump() {
        let err = AwsError::Api {
            operation: "DescribeEnvironments",
            code: "AccessDenied".into(),
            message: "User: x is not authorized".into(),
        }
        .to_string();
        assert!(
            err.starts_with("Elastic Beanstalk DescribeEnvironments failed"),
            "{err}"
        );
        assert!(
            err.contains("AccessDenied: User: x is not authorized"),
            "{err}"
        );
        assert!(err.contains("grant it in IAM"), "{err}");
        let err = AwsError::Credentials {
            detail: "the SSO session has expired".into(),
        }
        .to_string();
        assert!(err.contains("aws sso login --profile"), "{err}");
        let io = std::io::Error::other(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "Connection refused",
        ));
        let chain = error_chain(&io);
        assert!(
            !chain.contains("Custom {") && !chain.contains("kind:"),
            "{chain}"
        );
        assert!(!err.contains('\n'));
    }
}
