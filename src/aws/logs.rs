//! The instances' tail logs (`eb-engine.log` and container output), fetched when a deploy
//! fails so the reason is on screen, not behind a console click.

use std::time::{Duration, Instant, SystemTime};

use aws_sdk_elasticbeanstalk::Client;
use aws_sdk_elasticbeanstalk::types::EnvironmentInfoType;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;

use super::error::AwsError;

/// At most this many lines of each instance's log are kept (the end of it).
const MAX_LINES: usize = 100;

/// One instance's log tail.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TailLog {
    /// The instance.
    pub instance: String,
    /// The last lines.
    pub lines: Vec<String>,
}

/// Ask the instances for their tail logs and download them; waits until `deadline` for the
/// logs of this request to be published.
pub async fn tail(
    eb: &Client,
    environment: &str,
    deadline: Instant,
) -> Result<Vec<TailLog>, AwsError> {
    let requested = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    eb.request_environment_info()
        .environment_name(environment)
        .info_type(EnvironmentInfoType::Tail)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("RequestEnvironmentInfo", e))?;
    loop {
        let out = eb
            .retrieve_environment_info()
            .environment_name(environment)
            .info_type(EnvironmentInfoType::Tail)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("RetrieveEnvironmentInfo", e))?;
        // Samples from before this request are older failures; allow for clock skew.
        let fresh: Vec<(String, String)> = out
            .environment_info()
            .iter()
            .filter(|i| {
                i.sample_timestamp()
                    .and_then(|t| t.to_millis().ok())
                    .is_some_and(|t| t >= requested - 5_000)
            })
            .filter_map(|i| {
                Some((
                    i.ec2_instance_id().unwrap_or("instance").to_owned(),
                    i.message()?.to_owned(),
                ))
            })
            .collect();
        if !fresh.is_empty() {
            let mut logs = Vec::new();
            // The newest sample of each instance.
            let mut seen = std::collections::HashSet::new();
            for (instance, url) in fresh.into_iter().rev() {
                if !seen.insert(instance.clone()) {
                    continue;
                }
                let text = download(&url).await?;
                let lines: Vec<String> = text.lines().map(str::to_owned).collect();
                let start = lines.len().saturating_sub(MAX_LINES);
                logs.push(TailLog {
                    instance,
                    lines: lines[start..].to_vec(),
                });
            }
            return Ok(logs);
        }
        if Instant::now() + Duration::from_secs(1) > deadline {
            return Ok(Vec::new());
        }
        // RetrieveEnvironmentInfo at most once a second (see `pace`).
        tokio::time::sleep(super::pace::MIN_INTERVAL).await;
    }
}

/// GET a presigned URL. The URL itself is a credential for a while: it is never printed.
async fn download(url: &str) -> Result<String, AwsError> {
    let failed = |detail: String| AwsError::Unreachable {
        operation: "RetrieveEnvironmentInfo",
        detail,
    };
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| failed(format!("no TLS root certificates: {e}")))?
        .https_or_http()
        .enable_http1()
        .build();
    let client: HttpClient<_, Empty<Bytes>> =
        HttpClient::builder(TokioExecutor::new()).build(connector);
    let uri: http::Uri = url
        .parse()
        .map_err(|_| failed("the log's URL is not valid".into()))?;
    let response = tokio::time::timeout(Duration::from_secs(30), client.get(uri))
        .await
        .map_err(|_| failed("downloading the log timed out".into()))?
        .map_err(|e| failed(format!("downloading the log: {e}")))?;
    let status = response.status();
    // The body may stall after the headers: bounded too.
    let body = tokio::time::timeout(Duration::from_secs(30), response.into_body().collect())
        .await
        .map_err(|_| failed("downloading the log timed out".into()))?
        .map_err(|e| failed(format!("downloading the log: {e}")))?
        .to_bytes();
    if !status.is_success() {
        return Err(failed(format!(
            "downloading the log answered HTTP {status}"
        )));
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}
