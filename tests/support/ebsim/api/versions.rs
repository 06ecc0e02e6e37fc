//! CreateApplicationVersion (with `Process`), DescribeApplicationVersions,
//! DeleteApplicationVersion (with `DeleteSourceBundle`).

use super::super::deploy;
use super::super::error::ApiError;
use super::super::state::{AppVersion, Application, EnvStatus, VersionStatus, now_ms};
use super::super::xml::Xml;
use super::{Call, check_name, max_records, next_token, render};

pub fn create(call: &Call<'_>) -> Result<String, ApiError> {
    let p = call.params;
    let app = p.required("ApplicationName")?;
    check_name("applicationName", app, 1, 100, true)?;
    let label = p.required("VersionLabel")?;
    check_name("versionLabel", label, 1, 100, true)?;
    let description = p.get("Description");
    if let Some(d) = description {
        check_name("description", d, 0, 200, false)?;
    }
    let bundle = p.nested("SourceBundle");
    let (bucket, key) = (bundle.get("S3Bucket"), bundle.get("S3Key"));
    if let Some(k) = key {
        check_name("sourceBundle.s3Key", k, 0, 1024, false)?;
    }
    if bucket.is_some() != key.is_some() {
        return Err(ApiError::invalid(
            "Both S3 bucket and key must be specified.",
        ));
    }
    let process = p.bool("Process")?.unwrap_or(false);
    let auto_create = p.bool("AutoCreateApplication")?.unwrap_or(false);
    let version = {
        let mut state = call.shared.state();
        if !state.applications.contains_key(app) {
            if !auto_create {
                return Err(ApiError::no_application(app));
            }
            state.applications.insert(
                app.to_owned(),
                Application {
                    name: app.to_owned(),
                    description: None,
                    created: now_ms(),
                    lifecycle: None,
                },
            );
        }
        let id = (app.to_owned(), label.to_owned());
        if state.versions.contains_key(&id) {
            return Err(ApiError::duplicate_version(label));
        }
        // The quota is per account and region, across applications.
        let quota = call.shared.options.version_quota;
        if state.versions.len() >= quota {
            return Err(ApiError::version_quota(quota));
        }
        let now = now_ms();
        let version = AppVersion {
            app: app.to_owned(),
            label: label.to_owned(),
            description: description.map(str::to_owned),
            bucket: bucket.map(str::to_owned),
            key: key.map(str::to_owned),
            status: if process {
                VersionStatus::Processing
            } else {
                VersionStatus::Unprocessed
            },
            created: now,
            updated: now,
        };
        state.versions.insert(id, version.clone());
        version
    };
    if process {
        deploy::start_processing(call.shared, app.to_owned(), label.to_owned());
    }
    let (sim, app) = (call.shared.clone(), app.to_owned());
    tokio::spawn(async move { super::operations::enforce_lifecycle(&sim, &app).await });
    let mut x = Xml::new();
    x.element("ApplicationVersion", |x| {
        render::version(x, call.shared, &version)
    });
    Ok(x.finish())
}

pub fn describe(call: &Call<'_>) -> Result<String, ApiError> {
    let p = call.params;
    let app = p.get("ApplicationName");
    let labels = p.list("VersionLabels");
    let limit = max_records(p)?;
    let start = next_token(p)?.unwrap_or(0) as usize;
    let state = call.shared.state();
    let mut versions: Vec<&AppVersion> = state
        .versions
        .values()
        .filter(|v| app.is_none_or(|a| a == v.app))
        .filter(|v| labels.is_empty() || labels.contains(&v.label))
        .collect();
    // Newest first, as the console and API list them.
    versions.sort_by(|a, b| b.created.cmp(&a.created).then(b.label.cmp(&a.label)));
    let page: Vec<&AppVersion> = versions.iter().skip(start).take(limit).copied().collect();
    let mut x = Xml::new();
    x.list("ApplicationVersions", &page, |x, v| {
        render::version(x, call.shared, v)
    });
    if start + page.len() < versions.len() {
        x.text("NextToken", &format!("ebsim-{}", start + page.len()));
    }
    Ok(x.finish())
}

pub async fn delete(call: &Call<'_>) -> Result<String, ApiError> {
    let p = call.params;
    let app = p.required("ApplicationName")?;
    let label = p.required("VersionLabel")?;
    let delete_bundle = p.bool("DeleteSourceBundle")?.unwrap_or(false);
    let removed = {
        let mut state = call.shared.state();
        if !state.applications.contains_key(app) {
            return Err(ApiError::no_application(app));
        }
        let id = (app.to_owned(), label.to_owned());
        if !state.versions.contains_key(&id) {
            return Err(ApiError::no_version(label));
        }
        let users: Vec<String> = state
            .environments
            .iter()
            .filter(|e| e.app == app && e.status != EnvStatus::Terminated)
            .filter(|e| e.version_label.as_deref() == Some(label))
            .map(|e| e.name.clone())
            .collect();
        if !users.is_empty() {
            return Err(ApiError::invalid(format!(
                "Unable to delete application version '{label}' because it is being used by environment(s): {}",
                users.join(", ")
            )));
        }
        state.versions.remove(&id)
    };
    if delete_bundle
        && let Some(AppVersion {
            bucket: Some(bucket),
            key: Some(key),
            ..
        }) = removed
    {
        let deleted = call
            .shared
            .s3
            .delete_object()
            .bucket(&bucket)
            .key(&key)
            .send()
            .await;
        if deleted.is_err() {
            return Err(ApiError::sender(
                "SourceBundleDeletionFailure",
                "Unable to delete the Amazon S3 source bundle associated with the application version. The application version was deleted successfully.",
            ));
        }
    }
    Ok(String::new())
}
