//! The EB actions: one module per resource, dispatched by `Action`. Each handler validates its
//! input as EB does and answers the `…Result` body or an `ApiError`.

mod applications;
pub mod cloudwatch;
mod environments;
mod events;
mod instances;
mod logs;
mod render;
mod sts;
mod versions;

use std::sync::Arc;

use super::Shared;
use super::error::ApiError;
use super::query::Params;

/// One request's context.
pub struct Call<'a> {
    /// The emulator.
    pub shared: &'a Arc<Shared>,
    /// This request's id (events of the operation it starts carry it).
    pub request_id: &'a str,
    /// The parameters.
    pub params: &'a Params,
}

/// Run `action`; the XML inside `<ActionResult>`.
pub async fn dispatch(action: &str, call: &Call<'_>) -> Result<String, ApiError> {
    match action {
        "CreateApplication" => applications::create(call),
        "DescribeApplications" => applications::describe(call),
        "CreateStorageLocation" => applications::create_storage_location(call).await,
        "CreateApplicationVersion" => versions::create(call),
        "DescribeApplicationVersions" => versions::describe(call),
        "DeleteApplicationVersion" => versions::delete(call).await,
        "CreateEnvironment" => environments::create(call),
        "DescribeEnvironments" => environments::describe(call),
        "UpdateEnvironment" => environments::update(call),
        "AbortEnvironmentUpdate" => environments::abort(call),
        "DescribeEnvironmentHealth" => environments::health(call),
        "DescribeConfigurationSettings" => environments::configuration(call),
        "DescribeEvents" => events::describe(call),
        "RequestEnvironmentInfo" => logs::request(call).await,
        "RetrieveEnvironmentInfo" => logs::retrieve(call).await,
        "DescribeInstancesHealth" => instances::describe(call),
        // STS, on the same endpoint (the Query protocol is the same): the account check.
        "GetCallerIdentity" => sts::get_caller_identity(call),
        other => Err(ApiError::invalid_action(other)),
    }
}

/// Length and pattern checks of the EB model (names and labels: 1–100, no `/`).
pub fn check_name(
    field: &str,
    value: &str,
    min: usize,
    max: usize,
    no_slash: bool,
) -> Result<(), ApiError> {
    let length = value.chars().count();
    if length < min {
        return Err(ApiError::constraint(
            field,
            value,
            &format!("Member must have length greater than or equal to {min}"),
        ));
    }
    if length > max {
        return Err(ApiError::constraint(
            field,
            value,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    if no_slash && value.contains('/') {
        return Err(ApiError::constraint(
            field,
            value,
            "Member must satisfy regular expression pattern: [^/]+",
        ));
    }
    Ok(())
}

/// `MaxRecords` within 1..=1000 (default 1000).
pub fn max_records(params: &Params) -> Result<usize, ApiError> {
    match params.int("MaxRecords")? {
        None => Ok(1000),
        Some(n) if n < 1 => Err(ApiError::constraint(
            "maxRecords",
            &n.to_string(),
            "Member must have value greater than or equal to 1",
        )),
        Some(n) if n > 1000 => Err(ApiError::constraint(
            "maxRecords",
            &n.to_string(),
            "Member must have value less than or equal to 1000",
        )),
        Some(n) => Ok(n as usize),
    }
}

/// An opaque paging token: `ebsim-<position>`.
pub fn next_token(params: &Params) -> Result<Option<u64>, ApiError> {
    match params.get("NextToken") {
        None => Ok(None),
        Some(token) => token
            .strip_prefix("ebsim-")
            .and_then(|n| n.parse().ok())
            .map(Some)
            .ok_or_else(|| ApiError::invalid("Invalid NextToken")),
    }
}
