//! AWS failures, mapped onto the exit-code contract: credentials 5, API errors 6, an environment
//! that is busy 10, a missing region or environment (configuration) 3.

use std::fmt::Debug;

use aws_sdk_elasticbeanstalk::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::exit::{Coded, ExitStatus};

/// What went wrong talking to AWS.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// No credentials could be resolved.
    #[error(
        "no usable AWS credentials ({detail}); pass --profile or set [aws] profile, run `aws sso \
         login`, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
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
    /// AWS answered with an error.
    #[error("{operation} failed: {code}: {message}")]
    Api {
        /// The API operation.
        operation: &'static str,
        /// The error code, e.g. `InvalidParameterValue`.
        code: String,
        /// AWS's message.
        message: String,
    },
    /// The request never got an answer (network, endpoint, timeout).
    #[error("{operation}: no answer from AWS: {detail}")]
    Unreachable {
        /// The API operation.
        operation: &'static str,
        /// Why.
        detail: String,
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
            AwsError::Credentials { .. } => ExitStatus::Registry,
            AwsError::NoRegion | AwsError::NoEnvironment { .. } => ExitStatus::InvalidInput,
            AwsError::Busy { .. } => ExitStatus::Busy,
            AwsError::Api { .. } | AwsError::Unreachable { .. } | AwsError::Unexpected { .. } => {
                ExitStatus::Aws
            }
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
            _ => {
                let detail = DisplayErrorContext(&err).to_string();
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
