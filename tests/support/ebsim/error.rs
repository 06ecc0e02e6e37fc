//! The errors the emulator answers with: EB's codes and exact message texts
//! (reference/eb-cli.md §4), rendered as the Query protocol's `<ErrorResponse>`.

use super::xml;

/// One API error: HTTP status, `Type` (`Sender` for the caller's fault, `Receiver` for ours),
/// code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status (400 for every client error EB reports).
    pub status: u16,
    /// `Sender` or `Receiver`.
    pub kind: &'static str,
    /// The error code, e.g. `InvalidParameterValue`.
    pub code: String,
    /// The message, exactly as EB words it.
    pub message: String,
}

impl ApiError {
    /// A client error with `code`.
    pub fn sender(code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status: 400,
            kind: "Sender",
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// `InvalidParameterValue` with `message`.
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::sender("InvalidParameterValue", message)
    }

    /// UpdateEnvironment (or another mutation) while the environment is busy.
    pub fn not_ready(env: &str) -> ApiError {
        ApiError::invalid(format!(
            "Environment named {env} is in an invalid state for this operation. Must be Ready."
        ))
    }

    /// CreateApplicationVersion with a label the application already has.
    pub fn duplicate_version(label: &str) -> ApiError {
        ApiError::invalid(format!("Application Version {label} already exists."))
    }

    /// An application that does not exist.
    pub fn no_application(app: &str) -> ApiError {
        ApiError::invalid(format!("No Application named '{app}' found."))
    }

    /// A version label the application does not have.
    pub fn no_version(label: &str) -> ApiError {
        ApiError::invalid(format!("No Application Version named '{label}' found."))
    }

    /// An environment that does not exist, by name.
    pub fn no_environment(env: &str) -> ApiError {
        ApiError::invalid(format!(
            "No Environment found for EnvironmentName = '{env}'."
        ))
    }

    /// An environment that does not exist, by id.
    pub fn no_environment_id(id: &str) -> ApiError {
        ApiError::invalid(format!("No Environment found for EnvironmentId = '{id}'."))
    }

    /// The account's application-version quota is used up.
    pub fn version_quota(max: usize) -> ApiError {
        ApiError::sender(
            "TooManyApplicationVersionsException",
            format!(
                "You cannot have more than {max} Application Versions. Either remove some Application Versions or request a limit increase."
            ),
        )
    }

    /// The request rate is over the configured limit; the SDK classifies `Throttling` as a
    /// throttling error and retries it.
    pub fn throttling() -> ApiError {
        ApiError::sender("Throttling", "Rate exceeded")
    }

    /// A model constraint (length, pattern, range) is violated: AWS's standard validation
    /// envelope, as the service front end answers before EB's own checks run.
    pub fn constraint(field: &str, value: &str, constraint: &str) -> ApiError {
        ApiError::sender(
            "ValidationError",
            format!(
                "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"
            ),
        )
    }

    /// A required parameter is absent.
    pub fn missing_parameter(name: &str) -> ApiError {
        ApiError::sender(
            "MissingParameter",
            format!("The request must contain the parameter {name}"),
        )
    }

    /// A parameter that does not parse as its type.
    pub fn malformed(name: &str, value: &str, expected: &str) -> ApiError {
        ApiError::sender(
            "MalformedQueryString",
            format!("Value '{value}' for parameter {name} is not {expected}."),
        )
    }

    /// An `Action` the emulator does not implement (or that does not exist).
    pub fn invalid_action(action: &str) -> ApiError {
        ApiError::sender(
            "InvalidAction",
            format!("The action {action} is not valid for this web service."),
        )
    }

    /// Credentials the emulator was not configured to accept.
    pub fn bad_token() -> ApiError {
        ApiError {
            status: 403,
            kind: "Sender",
            code: "InvalidClientTokenId".into(),
            message: "The security token included in the request is invalid.".into(),
        }
    }

    /// A request without an `Authorization` header.
    pub fn missing_authentication() -> ApiError {
        ApiError {
            status: 403,
            kind: "Sender",
            code: "MissingAuthenticationToken".into(),
            message: "Request is missing Authentication Token".into(),
        }
    }

    /// An `Authorization` header that is not a complete SigV4 one.
    pub fn incomplete_signature() -> ApiError {
        ApiError {
            status: 400,
            kind: "Sender",
            code: "IncompleteSignature".into(),
            message: "Authorization header requires 'Credential', 'Signature' and \
                      'SignedHeaders' parameters, and the request an X-Amz-Date header."
                .into(),
        }
    }

    /// A signature made with another secret (or over other bytes).
    pub fn signature_mismatch() -> ApiError {
        ApiError {
            status: 403,
            kind: "Sender",
            code: "SignatureDoesNotMatch".into(),
            message: "The request signature we calculated does not match the signature you \
                      provided. Check your AWS Secret Access Key and signing method. Consult the \
                      service documentation for details."
                .into(),
        }
    }

    /// A failure of the emulator's own dependencies (the S3 server).
    pub fn receiver(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 500,
            kind: "Receiver",
            code: "InternalFailure".into(),
            message: message.into(),
        }
    }

    /// A server-side failure (the "return 5xx" knob).
    pub fn internal(status: u16) -> ApiError {
        let (code, message) = if status == 503 {
            (
                "ServiceUnavailable",
                "Service is unavailable. Please try again later.",
            )
        } else {
            (
                "InternalFailure",
                "An internal error occurred. Please try again later.",
            )
        };
        ApiError {
            status,
            kind: "Receiver",
            code: code.into(),
            message: message.into(),
        }
    }

    /// The `<ErrorResponse>` document.
    pub fn to_xml(&self, request_id: &str) -> String {
        format!(
            "<ErrorResponse xmlns=\"{ns}\"><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
            ns = xml::NAMESPACE,
            kind = self.kind,
            code = xml::escape(&self.code),
            message = xml::escape(&self.message),
        )
    }
}
