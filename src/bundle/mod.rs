//! Elastic Beanstalk source bundles: the run file (rendered from the compose file, or the
//! environment's hand-written `Dockerrun.aws.json` with our images pinned), validated by the
//! platform's rules, plus the project files `.ebignore` selects with the EB CLI's semantics and
//! `environments/<env>/.ebextensions/`, written as a deterministic zip.
//!
//! Nothing is staged in the working tree: rendered files exist only inside the zip (the
//! original copied them into the tree and could leave them behind). The same inputs always give
//! the same bytes: entries sorted, fixed timestamps, modes reduced to "executable or not".

mod archive;
pub mod compose_raw;
pub mod handwritten;
pub mod image_ref;
pub mod json_positions;
pub mod pins;
pub mod prepare;
pub mod render;
mod select;
pub mod validate;

use std::path::{Path, PathBuf};

pub use archive::{ArchiveStats, write as write_zip};
pub use image_ref::ImageRef;
pub use pins::{ImagePins, Pin, ThirdParty};
pub use select::{Member, MemberKind, Selection, select};

use crate::exit::{Coded, ExitStatus};

/// The run file of the Docker platforms.
pub const DOCKERRUN: &str = "Dockerrun.aws.json";
/// The compose file the Docker platform runs.
pub const COMPOSE_FILE: &str = "docker-compose.yml";
/// Elastic Beanstalk's limit on a source bundle (and the EB CLI's): 512 MiB.
pub const MAX_BUNDLE_BYTES: u64 = 512 * 1024 * 1024;

/// Why a bundle could not be made. Everything but IO is the user's input to fix (exit 3).
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The project or the compose file cannot be expressed as a bundle; the message says why.
    #[error("{0}")]
    Invalid(String),
    /// The run file cannot express everything the compose file says.
    #[error(
        "the {format} run file cannot express all of the compose file, so Elastic Beanstalk would \
         run something else:\n  - {}\nchange the compose file, choose another bundle_format, or \
         pass --allow-lossy to bundle anyway",
        losses.join("\n  - ")
    )]
    Lossy {
        /// The bundle format.
        format: String,
        /// What is lost, each with the reason.
        losses: Vec<String>,
    },
    /// A run file breaks the platform's rules.
    #[error("{file}: {problem}")]
    RunFile {
        /// The file.
        file: String,
        /// What is wrong, with the fix.
        problem: String,
    },
    /// Files that look like secrets would be bundled.
    #[error("{0}")]
    Secrets(String),
    /// `.ebignore` could not be read or applied.
    #[error(transparent)]
    Ignore(#[from] crate::ignore::eb::EbIgnoreError),
    /// The zip is over Elastic Beanstalk's limit.
    #[error(
        "the bundle is {size} bytes, over Elastic Beanstalk's limit of {limit} bytes (512 MiB); \
         exclude large files in .ebignore (the images carry the application)"
    )]
    TooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// `-o` names a file in a directory that does not exist (or is not a directory).
    #[error(
        "cannot write the bundle to {}: the directory {} does not exist; create it or pass \
         another -o",
        out.display(),
        dir.display()
    )]
    OutputDir {
        /// The requested output file.
        out: PathBuf,
        /// Its missing parent directory.
        dir: PathBuf,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The zip library failed.
    #[error("writing the zip: {0}")]
    Zip(#[from] zip::result::ZipError),
}

impl Coded for BundleError {
    fn exit_status(&self) -> ExitStatus {
        match self {
            BundleError::Io { .. } | BundleError::Zip(_) => ExitStatus::Failure,
            _ => ExitStatus::InvalidInput,
        }
    }
}

/// Which run file to render (`bundle_format` in stevedore.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BundleFormat {
    /// Dockerrun v2, for the "ECS running on Amazon Linux" platform.
    V2,
    /// Dockerrun v1: one container on the "Docker running on Amazon Linux" platform.
    V1,
    /// `docker-compose.yml` (+ v3 for credentials) on the Docker platform.
    Compose,
}

impl BundleFormat {
    /// Parse `v2`, `v1` or `compose`.
    pub fn parse(text: &str) -> Result<BundleFormat, BundleError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "v2" | "2" => Ok(BundleFormat::V2),
            "v1" | "1" => Ok(BundleFormat::V1),
            "compose" => Ok(BundleFormat::Compose),
            other => Err(BundleError::Invalid(format!(
                "bundle_format `{other}` is not one of v2 (ECS platform), v1 (one container) or \
                 compose (Docker platform)"
            ))),
        }
    }

    /// The name used in settings.
    pub fn as_str(self) -> &'static str {
        match self {
            BundleFormat::V2 => "v2",
            BundleFormat::V1 => "v1",
            BundleFormat::Compose => "compose",
        }
    }

    /// Whether an environment on `solution_stack` runs this format: the ECS platform reads
    /// Dockerrun v2 only, the Docker platform v1 or compose.
    pub fn fits_stack(self, solution_stack: &str) -> bool {
        let ecs = solution_stack.contains("ECS") || solution_stack.contains("Multi-container");
        ecs == (self == BundleFormat::V2)
    }
}

/// An S3 object: where registry credentials live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Ref {
    /// The bucket.
    pub bucket: String,
    /// The key.
    pub key: String,
}

impl S3Ref {
    /// Parse `s3://bucket/key` (or `bucket/key`).
    pub fn parse(text: &str) -> Result<S3Ref, BundleError> {
        let rest = text.trim().strip_prefix("s3://").unwrap_or(text.trim());
        match rest.split_once('/') {
            Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => Ok(S3Ref {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
            }),
            _ => Err(BundleError::Invalid(format!(
                "registry_auth `{text}` is not s3://<bucket>/<key>"
            ))),
        }
    }
}

/// A file made for the bundle (never written to the working tree).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedFile {
    /// Its name in the zip, `/`-separated.
    pub name: String,
    /// Its contents.
    pub data: Vec<u8>,
}

impl StagedFile {
    /// A file named `name` holding `data`.
    pub fn new(name: &str, data: Vec<u8>) -> StagedFile {
        StagedFile {
            name: name.to_owned(),
            data,
        }
    }

    /// `value` as pretty JSON with a final newline.
    pub fn json(name: &str, value: &impl serde::Serialize) -> Result<StagedFile, BundleError> {
        let mut data = serde_json::to_vec_pretty(value)
            .map_err(|e| BundleError::Invalid(format!("rendering {name}: {e}")))?;
        data.push(b'\n');
        Ok(StagedFile::new(name, data))
    }
}

/// What [`build`] needs.
pub struct BuildRequest<'a> {
    /// The project root (`.ebignore` is read there).
    pub root: &'a Path,
    /// `environments/<env>/` (its `.ebextensions/` is staged).
    pub env_dir: &'a Path,
    /// The run files for the bundle root.
    pub run_files: &'a [StagedFile],
    /// Bundle-relative paths the run files mount; each must be in the zip.
    pub mounts: &'a [String],
    /// Files to bundle even though they look like secrets.
    pub allowed_secrets: &'a [PathBuf],
    /// The size limit (normally [`MAX_BUNDLE_BYTES`]).
    pub max_bytes: u64,
}

/// A written bundle.
#[derive(Debug, Clone)]
pub struct Built {
    /// Where it is.
    pub path: PathBuf,
    /// The zip's sha256, lowercase hex.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// The zip's member names, in order.
    pub members: Vec<String>,
    /// How many members came from the project tree (files and links).
    pub from_tree: usize,
    /// Warnings: what was left out or is legal but likely wrong.
    pub warnings: Vec<String>,
    /// Compression figures.
    pub stats: ArchiveStats,
}

/// Validate the run files, select the members and write the zip to `out` (atomically: a
/// failure leaves no file behind). `progress` hears (bytes done, bytes in all).
pub fn build(
    request: &BuildRequest<'_>,
    out: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Built, BundleError> {
    let mut warnings = validate::run_files(request.run_files)?;
    let selection = select(
        request.root,
        request.env_dir,
        request.run_files,
        request.allowed_secrets,
    )?;
    warnings.extend(selection.notes.iter().cloned());
    check_mounts(&selection.members, request.mounts)?;
    validate::extensions(&selection.members)?;
    let stats = archive::write(&selection.members, out, request.max_bytes, progress)?;
    Ok(Built {
        path: out.to_owned(),
        sha256: stats.sha256.clone(),
        size: stats.size,
        members: selection.members.iter().map(|m| m.name.clone()).collect(),
        from_tree: selection.from_tree,
        warnings,
        stats,
    })
}

/// Every bundle path a run file mounts must be in the zip, or the container would see an empty
/// directory Docker made up on the instance.
fn check_mounts(members: &[Member], mounts: &[String]) -> Result<(), BundleError> {
    for mount in mounts {
        if mount.is_empty() {
            continue;
        }
        let dir = format!("{mount}/");
        let present = members
            .iter()
            .any(|m| m.name == *mount || m.name.starts_with(&dir));
        if !present {
            return Err(BundleError::Invalid(format!(
                "the run file mounts {mount} from the bundle, but .ebignore leaves it out; add \
                 `!{mount}` and `!{mount}/**` to .ebignore"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_stacks() {
        assert_eq!(BundleFormat::parse("V2").ok(), Some(BundleFormat::V2));
        assert_eq!(
            BundleFormat::parse("compose").ok(),
            Some(BundleFormat::Compose)
        );
        assert!(BundleFormat::parse("v4").is_err());
        let ecs = "64bit Amazon Linux 2023 v4.4.0 running ECS";
        let docker = "64bit Amazon Linux 2023 v4.4.0 running Docker";
        assert!(BundleFormat::V2.fits_stack(ecs));
        assert!(!BundleFormat::V2.fits_stack(docker));
        assert!(BundleFormat::Compose.fits_stack(docker));
        assert!(BundleFormat::V1.fits_stack(docker));
        assert!(!BundleFormat::V1.fits_stack(ecs));
    }

    #[test]
    fn s3_references() {
        let r = S3Ref::parse("s3://bucket/docker/config.json").expect("valid");
        assert_eq!(
            (r.bucket.as_str(), r.key.as_str()),
            ("bucket", "docker/config.json")
        );
        assert!(S3Ref::parse("s3://bucket").is_err());
        assert!(S3Ref::parse("").is_err());
    }
}
