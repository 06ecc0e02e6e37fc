//! The HTTP side: hyper on a loopback listener. `POST /` (or `GET /?…`) is the EB Query API;
//! `/_ebsim/…` is a small admin API for manual runs (state as JSON, knobs).

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::api::{self, Call};
use super::error::ApiError;
use super::knobs::Verdict;
use super::query::Params;
use super::{Shared, deploy, xml};

/// Accept connections until `stopped` fires.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>, stopped: oneshot::Receiver<()>) {
    super::accept::serve_http1(listener, stopped, move || {
        let shared = shared.clone();
        hyper::service::service_fn(move |request| handle(shared.clone(), request))
    })
    .await;
}

/// A request id in AWS's UUID shape.
pub fn request_id() -> String {
    let hex = super::state::random_hex(32);
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

fn respond(
    status: u16,
    content_type: &str,
    request_id: &str,
    body: String,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    if let Ok(v) = content_type.parse() {
        headers.insert("content-type", v);
    }
    if let Ok(v) = request_id.parse() {
        headers.insert("x-amzn-requestid", v);
    }
    response
}

fn error_response(error: &ApiError, request_id: &str) -> Response<Full<Bytes>> {
    respond(
        error.status,
        "text/xml",
        request_id,
        error.to_xml(request_id),
    )
}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let request_id = request_id();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let json_target = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let method = request.method().as_str().to_owned();
    let path_and_query = request
        .uri()
        .path_and_query()
        .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
    let headers = request.headers().clone();
    // A Query request body is small; anything huge is refused rather than buffered.
    let body = match Limited::new(request.into_body(), 4 * 1024 * 1024)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            let error = ApiError::sender(
                "RequestEntityTooLarge",
                "Request body too large or unreadable.",
            );
            return Ok(error_response(&error, &request_id));
        }
    };
    if let Some(admin) = path.strip_prefix("/_ebsim/") {
        return Ok(admin_call(&shared, admin, &query, &body, &request_id));
    }
    shared.calls.fetch_add(1, Ordering::Relaxed);
    let verdict = shared.knobs().admit();
    match verdict {
        Verdict::Throttle => {
            shared.throttled.fetch_add(1, Ordering::Relaxed);
            return Ok(error_response(&ApiError::throttling(), &request_id));
        }
        Verdict::Fail(status) => {
            shared.failed.fetch_add(1, Ordering::Relaxed);
            return Ok(error_response(&ApiError::internal(status), &request_id));
        }
        Verdict::Serve => {}
    }
    if let Some(expected) = &shared.options.access_key_id
        && let Err(refused) = super::sigv4::verify(
            &method,
            &path_and_query,
            &headers,
            &body,
            expected,
            shared.options.secret_access_key.as_deref(),
        )
    {
        return Ok(error_response(&refused, &request_id));
    }
    // CloudWatch Logs speaks JSON on the same endpoint in the rig.
    if let Some(target) = &json_target {
        let (status, value) = api::cloudwatch::dispatch(&shared, target, &body).await;
        return Ok(respond(
            status,
            "application/x-amz-json-1.1",
            &request_id,
            value.to_string(),
        ));
    }
    let mut raw = query.into_bytes();
    if !body.is_empty() {
        if !raw.is_empty() {
            raw.push(b'&');
        }
        raw.extend_from_slice(&body);
    }
    let params = Params::parse(&raw);
    let Some(action) = params.get("Action").map(str::to_owned) else {
        return Ok(error_response(
            &ApiError::missing_parameter("Action"),
            &request_id,
        ));
    };
    let call = Call {
        shared: &shared,
        request_id: &request_id,
        params: &params,
    };
    Ok(match api::dispatch(&action, &call).await {
        Ok(result) => respond(
            200,
            "text/xml",
            &request_id,
            xml::response(&action, &result, &request_id),
        ),
        Err(error) => error_response(&error, &request_id),
    })
}

/// `GET /_ebsim/state`, `GET /_ebsim/events`, `POST /_ebsim/knobs` (form fields as in `Knobs`,
/// plus `deploy_delay_ms`, `busy` + `busy_seconds`).
fn admin_call(
    shared: &Arc<Shared>,
    path: &str,
    query: &str,
    body: &[u8],
    request_id: &str,
) -> Response<Full<Bytes>> {
    let json =
        |value: serde_json::Value| respond(200, "application/json", request_id, value.to_string());
    match path {
        "state" => {
            let state = shared.state();
            let envs: Vec<serde_json::Value> = state
                .environments
                .iter()
                .map(|e| {
                    serde_json::json!({
                        "name": e.name, "id": e.id, "application": e.app,
                        "status": e.status.wire(), "health": e.health.wire(),
                        "version": e.version_label, "endpoint": e.endpoint.map(|a| a.to_string()),
                        "ports": e.ports.iter().map(|p| serde_json::json!({
                            "container": p.container, "container_port": p.container_port,
                            "requested_host_port": p.requested_host_port, "address": p.address.to_string(),
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            json(serde_json::json!({ "environments": envs, "events": state.events.len() }))
        }
        "events" => {
            let state = shared.state();
            let events: Vec<serde_json::Value> = state
                .events
                .iter()
                .map(|e| {
                    serde_json::json!({
                        "time": e.time, "severity": e.severity.wire(), "message": e.message,
                        "environment": e.env, "version": e.version, "request_id": e.request_id,
                    })
                })
                .collect();
            json(serde_json::Value::Array(events))
        }
        "knobs" => {
            let mut raw = query.as_bytes().to_vec();
            raw.push(b'&');
            raw.extend_from_slice(body);
            match set_knobs(shared, &Params::parse(&raw)) {
                Ok(()) => json(serde_json::json!({ "ok": true })),
                Err(e) => error_response(&e, request_id),
            }
        }
        _ => respond(404, "text/plain", request_id, "unknown admin path\n".into()),
    }
}

fn set_knobs(shared: &Arc<Shared>, p: &Params) -> Result<(), ApiError> {
    let count = |name: &str| -> Result<Option<u32>, ApiError> {
        Ok(p.int(name)?.map(|n| n.clamp(0, i64::from(u32::MAX)) as u32))
    };
    {
        let mut knobs = shared.knobs();
        if let Some(rate) = p.get("throttle_per_second") {
            knobs.throttle_per_second = rate.parse().ok().filter(|r: &f64| *r > 0.0);
        }
        if let Some(n) = count("throttle_burst")? {
            knobs.throttle_burst = n;
        }
        if let Some(n) = count("throttle_next")? {
            knobs.throttle_next = n;
        }
        if let Some(n) = count("fail_next_calls")? {
            knobs.fail_next_calls = n;
        }
        if let Some(n) = count("fail_status")? {
            knobs.fail_status = n as u16;
        }
        if let Some(b) = p.bool("fail_next_deploy")? {
            knobs.fail_next_deploy = b;
        }
        if let Some(ms) = p.int("deploy_delay_ms")? {
            knobs.deploy_delay = Some(Duration::from_millis(ms.max(0) as u64));
        }
    }
    if let Some(env) = p.get("busy") {
        let seconds = p.int("busy_seconds")?.unwrap_or(30).max(0) as u64;
        if !deploy::hold_busy(shared, env, Duration::from_secs(seconds)) {
            return Err(ApiError::not_ready(env));
        }
    }
    Ok(())
}
