//! Putting a bundle in S3: skipped when the object is already there with the same sha256,
//! multipart above 16 MiB (parts in parallel), aborted on failure so no half upload lingers.

use std::path::Path;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use futures_util::StreamExt;

use super::error::AwsError;

/// Above this size, multipart upload.
pub const MULTIPART_THRESHOLD: u64 = 16 * 1024 * 1024;
/// The size of each part (S3's minimum is 5 MiB).
const PART_SIZE: u64 = 8 * 1024 * 1024;
/// Parts in flight at once.
const PARALLEL_PARTS: usize = 4;
/// The object metadata key holding the bundle's sha256.
const SHA256_METADATA: &str = "sha256";

/// What the upload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Uploaded {
    /// The object was already there with the same content.
    pub skipped: bool,
    /// It went up in parts.
    pub multipart: bool,
}

/// What to upload where.
#[derive(Debug, Clone, Copy)]
pub struct Object<'a> {
    /// The bucket.
    pub bucket: &'a str,
    /// The key.
    pub key: &'a str,
    /// The local file.
    pub path: &'a Path,
    /// Its sha256 (hex).
    pub sha256: &'a str,
    /// Its size.
    pub size: u64,
}

/// Upload `object` unless S3 already holds it; `progress` hears (bytes sent, bytes in all).
pub async fn upload(
    s3: &Client,
    object: Object<'_>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Uploaded, AwsError> {
    if already_there(s3, &object).await? {
        return Ok(Uploaded {
            skipped: true,
            multipart: false,
        });
    }
    if object.size > MULTIPART_THRESHOLD {
        multipart(s3, &object, progress).await?;
        return Ok(Uploaded {
            skipped: false,
            multipart: true,
        });
    }
    let body = ByteStream::from_path(object.path)
        .await
        .map_err(|e| AwsError::Unreachable {
            operation: "PutObject",
            detail: format!("reading {}: {e}", object.path.display()),
        })?;
    s3.put_object()
        .bucket(object.bucket)
        .key(object.key)
        .content_type("application/zip")
        .metadata(SHA256_METADATA, object.sha256)
        .body(body)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("PutObject", e))?;
    progress(object.size, object.size);
    Ok(Uploaded {
        skipped: false,
        multipart: false,
    })
}

/// Whether the object exists with the same content (its sha256 metadata, or without that its
/// size: the key already carries the hash's prefix).
async fn already_there(s3: &Client, object: &Object<'_>) -> Result<bool, AwsError> {
    let head = match s3
        .head_object()
        .bucket(object.bucket)
        .key(object.key)
        .send()
        .await
    {
        Ok(head) => head,
        Err(err) => {
            let status = err.raw_response().map(|r| r.status().as_u16());
            let missing = err.as_service_error().is_some_and(|e| e.is_not_found())
                || matches!(status, Some(403 | 404));
            if missing {
                return Ok(false);
            }
            return Err(AwsError::from_sdk("HeadObject", err));
        }
    };
    let same_hash = head
        .metadata()
        .and_then(|m| m.get(SHA256_METADATA))
        .map(|h| h == object.sha256);
    let same_size = head.content_length() == i64::try_from(object.size).ok();
    match same_hash {
        Some(true) => Ok(true),
        Some(false) => Err(AwsError::Unexpected {
            operation: "HeadObject",
            detail: format!(
                "s3://{}/{} already holds a different bundle; remove it or use another bucket",
                object.bucket, object.key
            ),
        }),
        None => Ok(same_size),
    }
}

async fn multipart(
    s3: &Client,
    object: &Object<'_>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(), AwsError> {
    let created = s3
        .create_multipart_upload()
        .bucket(object.bucket)
        .key(object.key)
        .content_type("application/zip")
        .metadata(SHA256_METADATA, object.sha256)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("CreateMultipartUpload", e))?;
    let upload_id = created.upload_id().ok_or(AwsError::Unexpected {
        operation: "CreateMultipartUpload",
        detail: "no UploadId".into(),
    })?;
    let result = send_parts(s3, object, upload_id, progress).await;
    match result {
        Ok(parts) => {
            s3.complete_multipart_upload()
                .bucket(object.bucket)
                .key(object.key)
                .upload_id(upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("CompleteMultipartUpload", e))?;
            Ok(())
        }
        Err(err) => {
            // A failed deploy must not leave billable parts behind.
            let _ = s3
                .abort_multipart_upload()
                .bucket(object.bucket)
                .key(object.key)
                .upload_id(upload_id)
                .send()
                .await;
            Err(err)
        }
    }
}

async fn send_parts(
    s3: &Client,
    object: &Object<'_>,
    upload_id: &str,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Vec<CompletedPart>, AwsError> {
    let count = object.size.div_ceil(PART_SIZE);
    let sends = (0..count).map(|index| {
        let offset = index * PART_SIZE;
        let length = PART_SIZE.min(object.size - offset);
        async move {
            let body = ByteStream::read_from()
                .path(object.path)
                .offset(offset)
                .length(Length::Exact(length))
                .build()
                .await
                .map_err(|e| AwsError::Unreachable {
                    operation: "UploadPart",
                    detail: format!("reading {}: {e}", object.path.display()),
                })?;
            // Part numbers start at 1; there are at most 64 parts of a 512 MiB bundle.
            let number = i32::try_from(index + 1).unwrap_or(i32::MAX);
            let out = s3
                .upload_part()
                .bucket(object.bucket)
                .key(object.key)
                .upload_id(upload_id)
                .part_number(number)
                .body(body)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("UploadPart", e))?;
            Ok::<_, AwsError>((
                length,
                CompletedPart::builder()
                    .set_e_tag(out.e_tag().map(str::to_owned))
                    .part_number(number)
                    .build(),
            ))
        }
    });
    let mut stream = futures_util::stream::iter(sends).buffered(PARALLEL_PARTS);
    let mut parts = Vec::new();
    let mut sent = 0;
    while let Some(result) = stream.next().await {
        let (length, part) = result?;
        sent += length;
        progress(sent, object.size);
        parts.push(part);
    }
    Ok(parts)
}
