//! DescribeEvents: filters (application, environment, version, request id, severity or higher,
//! time window), newest first, `MaxRecords` + `NextToken` paging.

use super::super::error::ApiError;
use super::super::state::{Event, Severity};
use super::super::xml::Xml;
use super::{Call, max_records, next_token, render};

pub fn describe(call: &Call<'_>) -> Result<String, ApiError> {
    let p = call.params;
    let app = p.get("ApplicationName");
    let env_name = p.get("EnvironmentName");
    let env_id = p.get("EnvironmentId");
    let label = p.get("VersionLabel");
    let request_id = p.get("RequestId");
    let severity = match p.get("Severity") {
        None => None,
        Some(s) => Some(Severity::parse(s).ok_or_else(|| {
            ApiError::constraint(
                "severity",
                s,
                "Member must satisfy enum value set: [TRACE, DEBUG, INFO, WARN, ERROR, FATAL]",
            )
        })?),
    };
    // StartTime is inclusive, EndTime exclusive (EB's documented window).
    let start = p
        .time("StartTime")?
        .map(|t| t.to_millis().unwrap_or(i64::MIN));
    let end = p
        .time("EndTime")?
        .map(|t| t.to_millis().unwrap_or(i64::MAX));
    let limit = max_records(p)?;
    // The token is the sequence number to continue below, so new events never shift pages.
    let before = next_token(p)?;
    let state = call.shared.state();
    let env_by_id = env_id.and_then(|id| {
        state
            .environments
            .iter()
            .find(|e| e.id == id)
            .map(|e| e.name.clone())
    });
    if env_id.is_some() && env_by_id.is_none() {
        return Ok(empty_page());
    }
    let matching: Vec<&Event> = state
        .events
        .iter()
        .rev()
        .filter(|e| app.is_none_or(|a| a == e.app))
        .filter(|e| env_name.is_none_or(|n| Some(n) == e.env.as_deref()))
        .filter(|e| {
            env_by_id
                .as_deref()
                .is_none_or(|n| Some(n) == e.env.as_deref())
        })
        .filter(|e| label.is_none_or(|l| Some(l) == e.version.as_deref()))
        .filter(|e| request_id.is_none_or(|r| Some(r) == e.request_id.as_deref()))
        .filter(|e| severity.is_none_or(|s| e.severity >= s))
        .filter(|e| start.is_none_or(|s| e.time >= s))
        .filter(|e| end.is_none_or(|t| e.time < t))
        .filter(|e| before.is_none_or(|b| e.seq <= b))
        .collect();
    let page: Vec<&Event> = matching.iter().take(limit).copied().collect();
    let mut x = Xml::new();
    x.list("Events", &page, |x, e| render::event(x, e));
    if let Some(next) = matching.get(limit) {
        x.text("NextToken", &format!("ebsim-{}", next.seq));
    }
    Ok(x.finish())
}

fn empty_page() -> String {
    let mut x = Xml::new();
    x.element("Events", |_| {});
    x.finish()
}
