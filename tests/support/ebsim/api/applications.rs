//! CreateApplication, DescribeApplications, CreateStorageLocation.

use super::super::deploy::storage_bucket_name;
use super::super::error::ApiError;
use super::super::state::{Application, now_ms};
use super::super::xml::Xml;
use super::{Call, check_name, render};

pub fn create(call: &Call<'_>) -> Result<String, ApiError> {
    let name = call.params.required("ApplicationName")?;
    check_name("applicationName", name, 1, 100, true)?;
    let description = call.params.get("Description");
    if let Some(d) = description {
        check_name("description", d, 0, 200, false)?;
    }
    let mut state = call.shared.state();
    if state.applications.contains_key(name) {
        return Err(ApiError::invalid(format!(
            "Application {name} already exists."
        )));
    }
    let app = Application {
        name: name.to_owned(),
        description: description.map(str::to_owned),
        created: now_ms(),
        lifecycle: None,
    };
    state.applications.insert(name.to_owned(), app.clone());
    let mut x = Xml::new();
    x.element("Application", |x| {
        render::application(x, call.shared, &app, &[])
    });
    Ok(x.finish())
}

pub fn describe(call: &Call<'_>) -> Result<String, ApiError> {
    let names = call.params.list("ApplicationNames");
    let state = call.shared.state();
    let apps: Vec<&Application> = state
        .applications
        .values()
        .filter(|a| names.is_empty() || names.contains(&a.name))
        .collect();
    let mut x = Xml::new();
    x.list("Applications", &apps, |x, app| {
        let labels: Vec<String> = state
            .versions
            .values()
            .filter(|v| v.app == app.name)
            .map(|v| v.label.clone())
            .collect();
        render::application(x, call.shared, app, &labels);
    });
    Ok(x.finish())
}

/// Idempotent, like EB's: the bucket `elasticbeanstalk-<region>-<account>` is created in the S3
/// server on first use.
pub async fn create_storage_location(call: &Call<'_>) -> Result<String, ApiError> {
    let bucket = ensure_storage_bucket(call.shared).await?;
    let mut x = Xml::new();
    x.text("S3Bucket", &bucket);
    Ok(x.finish())
}

/// Create the storage bucket if the S3 server does not have it; its name.
pub async fn ensure_storage_bucket(shared: &super::super::Shared) -> Result<String, ApiError> {
    let bucket = storage_bucket_name(shared);
    if shared.state().storage_bucket.as_deref() == Some(bucket.as_str()) {
        return Ok(bucket);
    }
    if shared
        .s3
        .head_bucket()
        .bucket(&bucket)
        .send()
        .await
        .is_err()
    {
        shared
            .s3
            .create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .map_err(|e| {
                ApiError::receiver(format!(
                    "creating the storage bucket in the S3 server failed: {e}"
                ))
            })?;
    }
    shared.state().storage_bucket = Some(bucket.clone());
    Ok(bucket)
}
