//! RequestEnvironmentInfo / RetrieveEnvironmentInfo (tail logs): the instance's `eb-engine.log`
//! and the containers' output, stored in the storage bucket and handed out as presigned URLs.

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;

use super::super::error::ApiError;
use super::super::state::{Severity, date, now_ms};
use super::super::xml::Xml;
use super::Call;
use super::applications::ensure_storage_bucket;
use super::environments::find as environments_find;

fn info_type(call: &Call<'_>) -> Result<(), ApiError> {
    match call.params.required("InfoType")? {
        "tail" | "bundle" => Ok(()),
        other => Err(ApiError::constraint(
            "infoType",
            other,
            "Member must satisfy enum value set: [tail, bundle]",
        )),
    }
}

pub async fn request(call: &Call<'_>) -> Result<String, ApiError> {
    info_type(call)?;
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
    let text = format!("----- /var/log/eb-engine.log -----\n{engine_log}\n{containers}");
    let bucket = ensure_storage_bucket(call.shared).await?;
    let time = now_ms();
    let key = format!("resources/environments/logs/tail/{id}/{instance}/TailLogs-{time}.out");
    call.shared
        .s3
        .put_object()
        .bucket(&bucket)
        .key(&key)
        .body(text.into_bytes().into())
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
    info_type(call)?;
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
    for (time, key) in logs {
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
        x.text("InfoType", "tail")
            .text("Ec2InstanceId", &instance)
            .time("SampleTimestamp", date(*time))
            .text("Message", url);
    });
    Ok(x.finish())
}
