//! CloudWatch Logs for `logs --remote --follow`: the environment's log groups
//! (`DescribeLogGroups` under `/aws/elasticbeanstalk/<environment>/`) and their new events
//! (`FilterLogEvents`), when the environment streams its logs there.
//!
//! Two calls of the awsJson 1.1 protocol (one signed POST each) do not justify another SDK
//! crate: requests are signed with SigV4 (`aws-sigv4`, already in the tree) using the
//! credentials the other clients resolved, and go to `AWS_ENDPOINT_URL_CLOUDWATCH_LOGS`,
//! `AWS_ENDPOINT_URL`, or `https://logs.<region>.amazonaws.com`.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime};

use aws_sdk_elasticbeanstalk::config::{ProvideCredentials, SharedCredentialsProvider};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use super::error::AwsError;

/// The option that turns log streaming on.
pub const STREAM_LOGS: (&str, &str) = ("aws:elasticbeanstalk:cloudwatch:logs", "StreamLogs");

/// One log event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogEvent {
    /// The log group.
    pub group: String,
    /// The stream (on Elastic Beanstalk, the instance id).
    pub stream: String,
    /// When (ms since the epoch).
    pub timestamp: i64,
    /// The line.
    pub message: String,
    /// CloudWatch's id of the event.
    pub event_id: String,
}

impl LogEvent {
    /// The short name of the group's log: `/aws/elasticbeanstalk/prod/var/log/eb-engine.log`
    /// is `eb-engine.log`; a container's `…/containers/app/stdouterr.log` is `app`.
    pub fn log_name(&self) -> String {
        let parts: Vec<&str> = self.group.split('/').filter(|p| !p.is_empty()).collect();
        match parts.as_slice() {
            [.., "containers", container, _] => (*container).to_owned(),
            [.., last] => (*last).to_owned(),
            [] => self.group.clone(),
        }
    }
}

/// A CloudWatch Logs client for the few calls stevedore makes.
pub struct LogsClient {
    endpoint: String,
    region: String,
    credentials: SharedCredentialsProvider,
}

impl LogsClient {
    /// A client with the credentials and region the other clients use.
    pub fn new(clients: &super::sdk::Clients) -> Result<LogsClient, AwsError> {
        let credentials = clients.credentials.clone();
        let variable = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let endpoint = variable("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS")
            .or_else(|| variable("AWS_ENDPOINT_URL"))
            .unwrap_or_else(|| format!("https://logs.{}.amazonaws.com", clients.region));
        Ok(LogsClient {
            endpoint: format!("{}/", endpoint.trim_end_matches('/')),
            region: clients.region.clone(),
            credentials,
        })
    }

    /// One signed awsJson 1.1 call.
    async fn call(&self, operation: &'static str, input: Value) -> Result<Value, AwsError> {
        let failed = |detail: String| AwsError::Unreachable { operation, detail };
        let credentials =
            self.credentials
                .provide_credentials()
                .await
                .map_err(|e| AwsError::Credentials {
                    detail: super::error::error_chain(&e),
                })?;
        let identity = credentials.into();
        let body = input.to_string().into_bytes();
        let target = format!("Logs_20140328.{operation}");
        let headers = [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", target.as_str()),
        ];
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("logs")
            .time(SystemTime::now())
            .settings(aws_sigv4::http_request::SigningSettings::default())
            .build()
            .map_err(|e| failed(format!("signing: {e}")))?
            .into();
        let signable = aws_sigv4::http_request::SignableRequest::new(
            "POST",
            &self.endpoint,
            headers.iter().copied(),
            aws_sigv4::http_request::SignableBody::Bytes(&body),
        )
        .map_err(|e| failed(format!("signing: {e}")))?;
        let (instructions, _) = aws_sigv4::http_request::sign(signable, &params)
            .map_err(|e| failed(format!("signing: {e}")))?
            .into_parts();
        let mut request = http::Request::builder().method("POST").uri(&self.endpoint);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let mut request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| failed(format!("building the request: {e}")))?;
        instructions.apply_to_request_http1x(&mut request);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| failed(format!("no TLS root certificates: {e}")))?
            .https_or_http()
            .enable_http1()
            .build();
        let client: HttpClient<_, Full<Bytes>> =
            HttpClient::builder(TokioExecutor::new()).build(connector);
        let response = tokio::time::timeout(Duration::from_secs(30), client.request(request))
            .await
            .map_err(|_| failed("no answer within 30 seconds".into()))?
            .map_err(|e| failed(e.to_string()))?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| failed(e.to_string()))?
            .to_bytes();
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if !status.is_success() {
            // awsJson errors: {"__type": "…#Code", "message": "…"}.
            let code = value["__type"]
                .as_str()
                .map(|t| t.rsplit('#').next().unwrap_or(t).to_owned())
                .unwrap_or_else(|| format!("HTTP {status}"));
            let message = value["message"]
                .as_str()
                .or(value["Message"].as_str())
                .unwrap_or_default()
                .to_owned();
            if code == "UnrecognizedClientException" || code == "InvalidSignatureException" {
                return Err(AwsError::Credentials {
                    detail: format!("{code}: {message}"),
                });
            }
            return Err(AwsError::Api {
                operation,
                code,
                message,
            });
        }
        Ok(value)
    }

    /// The log groups whose names start with `prefix`.
    pub async fn log_groups(&self, prefix: &str) -> Result<Vec<String>, AwsError> {
        let mut groups = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut input = json!({ "logGroupNamePrefix": prefix });
            if let Some(token) = &token {
                input["nextToken"] = json!(token);
            }
            let out = self.call("DescribeLogGroups", input).await?;
            groups.extend(
                out["logGroups"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|g| g["logGroupName"].as_str().map(str::to_owned)),
            );
            token = out["nextToken"].as_str().map(str::to_owned);
            if token.is_none() {
                return Ok(groups);
            }
        }
    }

    /// Every event of `group` from `start_ms` (inclusive), all pages.
    pub async fn events_since(
        &self,
        group: &str,
        start_ms: i64,
    ) -> Result<Vec<LogEvent>, AwsError> {
        let mut events = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut input = json!({ "logGroupName": group, "startTime": start_ms });
            if let Some(token) = &token {
                input["nextToken"] = json!(token);
            }
            let out = self.call("FilterLogEvents", input).await?;
            events.extend(out["events"].as_array().into_iter().flatten().map(|e| {
                LogEvent {
                    group: group.to_owned(),
                    stream: e["logStreamName"].as_str().unwrap_or("-").to_owned(),
                    timestamp: e["timestamp"].as_i64().unwrap_or(0),
                    message: e["message"]
                        .as_str()
                        .unwrap_or_default()
                        .trim_end_matches('\n')
                        .to_owned(),
                    event_id: e["eventId"].as_str().unwrap_or_default().to_owned(),
                }
            }));
            token = out["nextToken"].as_str().map(str::to_owned);
            if token.is_none() {
                return Ok(events);
            }
        }
    }
}

/// The log-group prefix of an Elastic Beanstalk environment.
pub fn group_prefix(eb_environment: &str) -> String {
    format!("/aws/elasticbeanstalk/{eb_environment}/")
}

/// Follows log groups: each poll returns the events not returned before, oldest first.
pub struct Tailer {
    groups: Vec<String>,
    /// Per group: the newest timestamp returned, and the ids returned at it.
    seen: HashMap<String, (i64, HashSet<String>)>,
    since_ms: i64,
}

impl Tailer {
    /// Follow `groups` from `since_ms`.
    pub fn new(groups: Vec<String>, since_ms: i64) -> Tailer {
        Tailer {
            groups,
            seen: HashMap::new(),
            since_ms,
        }
    }

    /// The new events of every group.
    pub async fn poll(&mut self, client: &LogsClient) -> Result<Vec<LogEvent>, AwsError> {
        let mut out = Vec::new();
        for group in &self.groups {
            let (newest, ids) = self
                .seen
                .entry(group.clone())
                .or_insert_with(|| (self.since_ms, HashSet::new()));
            let events = client.events_since(group, *newest).await?;
            out.extend(fresh(events, newest, ids));
        }
        out.sort_by_key(|e| e.timestamp);
        Ok(out)
    }
}

/// The events of a window starting at `newest` that were not returned before; updates the
/// window's bookkeeping (the window is inclusive, so events at `newest` come again).
fn fresh(events: Vec<LogEvent>, newest: &mut i64, ids: &mut HashSet<String>) -> Vec<LogEvent> {
    let mut new = Vec::new();
    for event in events {
        if event.timestamp < *newest
            || (event.timestamp == *newest && ids.contains(&event.event_id))
        {
            continue;
        }
        if event.timestamp > *newest {
            *newest = event.timestamp;
            ids.clear();
        }
        ids.insert(event.event_id.clone());
        new.push(event);
    }
    new
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(ts: i64, id: &str) -> LogEvent {
        LogEvent {
            group: "/aws/elasticbeanstalk/shop-prod/var/log/eb-docker/containers/app/stdouterr.log"
                .into(),
            stream: "i-0abc".into(),
            timestamp: ts,
            message: format!("line {id}"),
            event_id: id.into(),
        }
    }

    #[test]
    fn each_event_is_returned_once_though_windows_overlap() {
        let (mut newest, mut ids) = (100, HashSet::new());
        let first = fresh(
            vec![event(100, "a"), event(105, "b"), event(105, "c")],
            &mut newest,
            &mut ids,
        );
        assert_eq!(first.len(), 3);
        assert_eq!(newest, 105);
        // The next window starts at 105 (inclusive): b and c come again, d is new.
        let second = fresh(
            vec![
                event(105, "b"),
                event(105, "c"),
                event(105, "d"),
                event(107, "e"),
            ],
            &mut newest,
            &mut ids,
        );
        let got: Vec<&str> = second.iter().map(|e| e.event_id.as_str()).collect();
        assert_eq!(got, ["d", "e"]);
        assert!(fresh(vec![event(107, "e")], &mut newest, &mut ids).is_empty());
    }

    #[test]
    fn log_names() {
        assert_eq!(event(0, "a").log_name(), "app");
        let mut e = event(0, "a");
        e.group = "/aws/elasticbeanstalk/shop-prod/var/log/eb-engine.log".into();
        assert_eq!(e.log_name(), "eb-engine.log");
    }
}
