//! CloudWatch Logs (`DescribeLogGroups`, `FilterLogEvents`, the awsJson 1.1 protocol on the same
//! endpoint, told apart by `X-Amz-Target`): an environment with the option
//! `aws:elasticbeanstalk:cloudwatch:logs`/`StreamLogs` = `true` has a group for its
//! `eb-engine.log` and one per container, with the lines the instance and its containers wrote.

use std::sync::Arc;

use serde_json::{Value, json};

use super::super::Shared;
use super::super::state::{EnvStatus, now_ms};

/// The log groups of every streaming environment: `(group, env id, instance id, container)`;
/// `None` for the engine log.
async fn groups(shared: &Shared) -> Vec<(String, String, String, Option<String>)> {
    let streaming: Vec<(String, String, String)> = shared
        .state()
        .environments
        .iter()
        .filter(|e| {
            e.status != EnvStatus::Terminated
                && e.options
                    .get(&(
                        "aws:elasticbeanstalk:cloudwatch:logs".to_owned(),
                        "StreamLogs".to_owned(),
                    ))
                    .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        })
        .map(|e| (e.name.clone(), e.id.clone(), e.instance_id.clone()))
        .collect();
    let mut out = Vec::new();
    for (name, id, instance) in streaming {
        let base = format!("/aws/elasticbeanstalk/{name}/var/log");
        out.push((
            format!("{base}/eb-engine.log"),
            id.clone(),
            instance.clone(),
            None,
        ));
        let Ok(engine) = shared.engine().await else {
            continue;
        };
        let mut containers: Vec<String> = engine
            .log_lines(&id)
            .await
            .into_iter()
            .map(|(container, ..)| container)
            .collect();
        containers.dedup();
        for container in containers {
            out.push((
                format!("{base}/eb-docker/containers/{container}/stdouterr.log"),
                id.clone(),
                instance.clone(),
                Some(container),
            ));
        }
    }
    out
}

/// An awsJson error: `(status, body)`.
fn error(code: &str, message: &str) -> (u16, Value) {
    (400, json!({"__type": code, "message": message}))
}

/// Serve `target` (`Logs_20140328.<Operation>`) with the JSON `body`.
pub async fn dispatch(shared: &Arc<Shared>, target: &str, body: &[u8]) -> (u16, Value) {
    let Ok(input) = serde_json::from_slice::<Value>(body) else {
        return error("SerializationException", "The request body is not JSON.");
    };
    match target.strip_prefix("Logs_20140328.") {
        Some("DescribeLogGroups") => {
            let prefix = input["logGroupNamePrefix"].as_str().unwrap_or_default();
            let found: Vec<Value> = groups(shared)
                .await
                .into_iter()
                .filter(|(g, ..)| g.starts_with(prefix))
                .map(|(g, ..)| json!({"logGroupName": g, "creationTime": now_ms(), "storedBytes": 0}))
                .collect();
            (200, json!({ "logGroups": found }))
        }
        Some("FilterLogEvents") => {
            let Some(name) = input["logGroupName"].as_str() else {
                return error(
                    "InvalidParameterException",
                    "1 validation error detected: Value null at 'logGroupName' failed to satisfy constraint: Member must not be null",
                );
            };
            let start = input["startTime"].as_i64().unwrap_or(0);
            let Some((_, env_id, instance, container)) =
                groups(shared).await.into_iter().find(|(g, ..)| g == name)
            else {
                return error(
                    "ResourceNotFoundException",
                    "The specified log group does not exist.",
                );
            };
            let lines: Vec<(i64, String)> = match container {
                None => shared
                    .state()
                    .environments
                    .iter()
                    .find(|e| e.id == env_id)
                    .map(|e| {
                        e.engine_log
                            .iter()
                            .map(|line| {
                                let stamp = line.split(' ').next().unwrap_or_default();
                                let ms = aws_sdk_elasticbeanstalk::primitives::DateTime::from_str(
                                    stamp,
                                    aws_sdk_elasticbeanstalk::primitives::DateTimeFormat::DateTime,
                                )
                                .ok()
                                .and_then(|t| t.to_millis().ok())
                                .unwrap_or(0);
                                (ms, line.clone())
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                Some(container) => match shared.engine().await {
                    Ok(engine) => engine
                        .log_lines(&env_id)
                        .await
                        .into_iter()
                        .filter(|(c, ..)| *c == container)
                        .map(|(_, ms, line)| (ms, line))
                        .collect(),
                    Err(_) => Vec::new(),
                },
            };
            let events: Vec<Value> = lines
                .into_iter()
                .enumerate()
                .filter(|(_, (ms, _))| *ms >= start)
                .map(|(i, (ms, line))| {
                    json!({
                        "logStreamName": instance,
                        "timestamp": ms,
                        "ingestionTime": ms,
                        "message": line,
                        "eventId": format!("{ms:020}{i:08}"),
                    })
                })
                .collect();
            (
                200,
                json!({"events": events, "searchedLogStreams": [{"logStreamName": instance, "searchedCompletely": true}]}),
            )
        }
        _ => error(
            "UnknownOperationException",
            &format!("Unknown operation {target}"),
        ),
    }
}
