//! RequestEnvironmentInfo / RetrieveEnvironmentInfo (tail and bundle logs): the instance's
//! `eb-engine.log` and the containers' output, stored in the storage bucket (the tail as text,
//! the bundle as a zip) and handed out as presigned URLs.

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;

use super::super::error::ApiError;
use super::super::state::{Severity, date, now_ms};
use super::super::xml::Xml;
use super::Call;
use super::applications::ensure_storage_bucket;
use super::environments::find as environments_find;

fn info_type<'a>(call: &'a Call<'_>) -> Result<&'a str, ApiError> {
    match call.params.required("InfoType")? {
        kind @ ("tail" | "bundle") => Ok(kind),
        other => Err(ApiError::constraint(
            "infoType",
            other,
            "Member must satisfy enum value set: [tail, bundle]",
        )),
    }
}

/// A zip of the instance's logs, as EB's bundle logs are: one file per log under `var/log/`.
fn log_bundle(engine_log: &str, containers: &str) -> Result<Vec<u8>, ApiError> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for (name, text) in [
        ("var/log/eb-engine.log", engine_log),
        (
            "var/log/eb-docker/containers/eb-current-app/stdouterr.log",
            containers,
        ),
    ] {
        zip.start_file(name, options)
            .and_then(|()| zip.write_all(text.as_bytes()).map_err(Into::into))
            .map_err(|e| ApiError::receiver(format!("zipping bundle logs: {e}")))?;
    }
    zip.finish()
        .map(|cursor| cursor.into_inner())
        .map_err(|e| ApiError::receiver(format!("zipping bundle logs: {e}")))
}

pub async fn request(call: &Call<'_>) -> Result<String, ApiError> {
    let kind = info_type(call)?;
    let (id, app, name, instance, engine_log) = {
        let state = call.shared.state();
        let id = environments_find(&state, call.params)?;
        let Some(env) = state.environments.iter().find(|e| e.id == id) else {
            return Err(ApiError::no_environment_id(&id));
        };
        (
            id,
            env.app.clone(),
            env.name.clone(),
            env.instance_id.clone(),
            env.engine_log.join("\n"),
        )
    };
    call.shared.state().event(
        Severity::Info,
        "requestEnvironmentInfo is starting.",
        &app,
        Some(&name),
        None,
        Some(call.request_id),
    );
    let containers = match call.shared.engine.get() {
        Some(Ok(engine)) => engine.logs(&id).await,
        _ => String::new(),
    };
    let time = now_ms();
    let (body, key) = if kind == "bundle" {
        (
            log_bundle(&engine_log, &containers)?,
            format!("resources/environments/logs/bundle/{id}/{instance}/BundleLogs-{time}.zip"),
        )
    } else {
        (
            format!("----- /var/log/eb-engine.log -----\n{engine_log}\n{containers}").into_bytes(),
            format!("resources/environments/logs/tail/{id}/{instance}/TailLogs-{time}.out"),
        )
    };
    let bucket = ensure_storage_bucket(call.shared).await?;
    call.shared
        .s3
        .put_object()
        .bucket(&bucket)
        .key(&key)
        .body(body.into())
        .send()
        .await
        .map_err(|e| ApiError::receiver(format!("storing tail logs failed: {e}")))?;
    let mut state = call.shared.state();
    if let Some(env) = state.env_mut(&id) {
        env.tail_logs.push((time, key));
    }
    state.event(
        Severity::Info,
        "requestEnvironmentInfo completed successfully.",
        &app,
        Some(&name),
        None,
        Some(call.request_id),
    );
    Ok(String::new())
}

pub async fn retrieve(call: &Call<'_>) -> Result<String, ApiError> {
    let kind = info_type(call)?;
    let folder = format!("/logs/{kind}/");
    let (instance, logs) = {
        let state = call.shared.state();
        let id = environments_find(&state, call.params)?;
        let Some(env) = state.environments.iter().find(|e| e.id == id) else {
            return Err(ApiError::no_environment_id(&id));
        };
        (env.instance_id.clone(), env.tail_logs.clone())
    };
    let bucket = ensure_storage_bucket(call.shared).await?;
    let mut items = Vec::new();
    for (time, key) in logs.into_iter().filter(|(_, key)| key.contains(&folder)) {
        let presigning = PresigningConfig::expires_in(Duration::from_secs(900))
            .map_err(|e| ApiError::receiver(format!("presigning: {e}")))?;
        let url = call
            .shared
            .s3
            .get_object()
            .bucket(&bucket)
            .key(&key)
            .presigned(presigning)
            .await
            .map_err(|e| ApiError::receiver(format!("presigning: {e}")))?;
        items.push((time, url.uri().to_owned()));
    }
    let mut x = Xml::new();
    x.list("EnvironmentInfo", &items, |x, (time, url)| {
        x.text("InfoType", kind)
            .text("Ec2InstanceId", &instance)
            .time("SampleTimestamp", date(*time))
            .text("Message", url);
    });
    Ok(x.finish())
}
