//! Application versions and the storage bucket.

use std::time::Instant;

use aws_sdk_elasticbeanstalk::Client;
use aws_sdk_elasticbeanstalk::types::{ApplicationVersionDescription, S3Location};

use super::error::AwsError;

/// One application version.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct VersionInfo {
    /// The label.
    pub label: String,
    /// The description (ours holds commit, digests, bundle hash and actor).
    pub description: Option<String>,
    /// The source bundle's bucket.
    pub bucket: Option<String>,
    /// The source bundle's key.
    pub key: Option<String>,
    /// `UNPROCESSED`, `PROCESSING`, `PROCESSED`, `FAILED`, `BUILDING` (upper case, as EB sends).
    pub status: String,
    /// When it was created (ms since the epoch).
    pub created_ms: Option<i64>,
}

impl VersionInfo {
    fn from_description(v: &ApplicationVersionDescription) -> VersionInfo {
        VersionInfo {
            label: v.version_label().unwrap_or_default().to_owned(),
            description: v.description().map(str::to_owned),
            bucket: v
                .source_bundle()
                .and_then(|s| s.s3_bucket())
                .map(str::to_owned),
            key: v
                .source_bundle()
                .and_then(|s| s.s3_key())
                .map(str::to_owned),
            // The SDK's enum does not know EB's upper-case wire values (they arrive as
            // `Unknown`), so compare the text.
            status: v
                .status()
                .map(|s| s.as_str().to_ascii_uppercase())
                .unwrap_or_default(),
            created_ms: v.date_created().and_then(|t| t.to_millis().ok()),
        }
    }
}

/// Version `label` of `application`, if it exists.
pub async fn find(
    eb: &Client,
    application: &str,
    label: &str,
) -> Result<Option<VersionInfo>, AwsError> {
    let out = eb
        .describe_application_versions()
        .application_name(application)
        .version_labels(label)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("DescribeApplicationVersions", e))?;
    Ok(out
        .application_versions()
        .iter()
        .map(VersionInfo::from_description)
        .find(|v| v.label == label))
}

/// Every version of `application`, newest first (all pages).
pub async fn list(eb: &Client, application: &str) -> Result<Vec<VersionInfo>, AwsError> {
    let mut versions = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = eb
            .describe_application_versions()
            .application_name(application)
            .max_records(1000)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DescribeApplicationVersions", e))?;
        versions.extend(
            out.application_versions()
                .iter()
                .map(VersionInfo::from_description),
        );
        match out.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => break,
        }
    }
    Ok(versions)
}

/// What a new version is.
#[derive(Debug, Clone)]
pub struct NewVersion<'a> {
    /// The application.
    pub application: &'a str,
    /// The label.
    pub label: &'a str,
    /// The description (at most 200 characters).
    pub description: &'a str,
    /// The bundle's bucket.
    pub bucket: &'a str,
    /// The bundle's key.
    pub key: &'a str,
    /// Ask EB to validate the bundle (`Process=true`).
    pub process: bool,
}

/// `CreateApplicationVersion`.
pub async fn create(eb: &Client, version: &NewVersion<'_>) -> Result<(), AwsError> {
    eb.create_application_version()
        .application_name(version.application)
        .version_label(version.label)
        .description(version.description)
        .source_bundle(
            S3Location::builder()
                .s3_bucket(version.bucket)
                .s3_key(version.key)
                .build(),
        )
        .process(version.process)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("CreateApplicationVersion", e))?;
    Ok(())
}

/// Wait until version `label` is no longer `PROCESSING`/`BUILDING`; its final status.
pub async fn wait_processed(
    eb: &Client,
    application: &str,
    label: &str,
    deadline: Instant,
) -> Result<String, AwsError> {
    // At most one call a second (see `pace`), slower after the first 30 s and when throttled.
    let mut pacer = super::pace::Pacer::new();
    loop {
        let interval = pacer.pause();
        let status = find(eb, application, label)
            .await?
            .map(|v| v.status)
            .unwrap_or_default();
        if !matches!(status.as_str(), "PROCESSING" | "BUILDING") {
            return Ok(status);
        }
        if Instant::now() + interval > deadline {
            return Ok(status);
        }
        tokio::time::sleep(interval).await;
    }
}

/// The account's Elastic Beanstalk bucket (`CreateStorageLocation`, idempotent).
pub async fn storage_bucket(eb: &Client) -> Result<String, AwsError> {
    let out = eb
        .create_storage_location()
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("CreateStorageLocation", e))?;
    out.s3_bucket()
        .map(str::to_owned)
        .ok_or(AwsError::Unexpected {
            operation: "CreateStorageLocation",
            detail: "no S3Bucket in the answer".into(),
        })
}
