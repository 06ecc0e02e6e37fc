//! The source bundle: fetched from S3 with the real SDK, size-checked, and extracted as the
//! application directory (`/var/app/current` of the instance).

use std::io::Read;
use std::path::Path;

/// EB's limit on a source bundle.
pub const MAX_BUNDLE_BYTES: u64 = 512 * 1024 * 1024;

/// Download `s3://bucket/key`; the failure text names what went wrong as EB's log would.
pub async fn fetch(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<Vec<u8>, String> {
    let head = s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| {
            let not_found = e.as_service_error().is_some_and(|s| s.is_not_found());
            if not_found {
                format!("Unable to download from S3 location (Bucket: {bucket} Key: {key}). Reason: Not Found")
            } else {
                format!("Unable to download from S3 location (Bucket: {bucket} Key: {key}). Reason: {e}")
            }
        })?;
    let size = head.content_length().unwrap_or_default().max(0) as u64;
    if size > MAX_BUNDLE_BYTES {
        return Err(format!(
            "The source bundle s3://{bucket}/{key} is {size} bytes; a source bundle cannot be larger than 512 MB"
        ));
    }
    let object = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| {
            format!(
                "Unable to download from S3 location (Bucket: {bucket} Key: {key}). Reason: {e}"
            )
        })?;
    let bytes = object
        .body
        .collect()
        .await
        .map_err(|e| format!("Reading s3://{bucket}/{key} failed: {e}"))?;
    Ok(bytes.into_bytes().to_vec())
}

/// Extract a zip into `dir`, refusing entries that escape it; a non-zip is an error.
pub fn extract(bytes: &[u8], dir: &Path) -> Result<(), String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("The source bundle is not a valid ZIP archive: {e}"))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|e| format!("The source bundle is not a valid ZIP archive: {e}"))?;
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        let Some(relative) = entry.enclosed_name() else {
            return Err(format!("The source bundle has an unsafe path: {name}"));
        };
        let target = dir.join(relative);
        if entry.is_dir() {
            std::fs::create_dir_all(&target)
                .map_err(|e| format!("creating {}: {e}", target.display()))?;
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("creating {}: {e}", parent.display()))?;
        }
        let mut data = Vec::new();
        entry
            .read_to_end(&mut data)
            .map_err(|e| format!("The source bundle is not a valid ZIP archive: {name}: {e}"))?;
        if entry.is_symlink() {
            // Bundles store symlinks as links; keep them inside the app directory.
            let link = String::from_utf8_lossy(&data).into_owned();
            if Path::new(&link).is_absolute() || link.split('/').any(|p| p == "..") {
                return Err(format!("The source bundle has an unsafe symlink: {name}"));
            }
            std::os::unix::fs::symlink(&link, &target)
                .map_err(|e| format!("linking {}: {e}", target.display()))?;
            continue;
        }
        std::fs::write(&target, &data).map_err(|e| format!("writing {}: {e}", target.display()))?;
        if let Some(mode) = entry.unix_mode() {
            use std::os::unix::fs::PermissionsExt;
            let _ =
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode & 0o777));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn extracts_files_and_refuses_garbage() {
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut w = zip::ZipWriter::new(&mut buf);
            let opts = zip::write::SimpleFileOptions::default();
            w.start_file("a/b.txt", opts).expect("entry");
            w.write_all(b"hi").expect("write");
            w.finish().expect("finish");
        }
        let dir = tempfile::tempdir().expect("dir");
        extract(buf.get_ref(), dir.path()).expect("extract");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a/b.txt")).expect("read"),
            "hi"
        );
        let err = extract(b"not a zip", dir.path()).expect_err("garbage");
        assert!(
            err.starts_with("The source bundle is not a valid ZIP archive"),
            "{err}"
        );
    }
}
