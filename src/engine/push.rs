//! Pushing an image to its registry, and reading the digest the registry gave it.

use std::collections::HashMap;
use std::time::Duration;

use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::query_parameters::PushImageOptionsBuilder;
use futures_util::StreamExt;

use crate::exit::{Coded, ExitStatus};

/// Pushes of large images take long; bollard's 120 s default would cut them.
const PUSH_TIMEOUT: Duration = Duration::from_secs(6 * 3600);

/// Why a push failed.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The registry refused or could not be reached; `message` is the registry's own words.
    #[error("pushing {reference} failed: {message}; fix: {fix}")]
    Registry {
        /// What was pushed.
        reference: String,
        /// The daemon's/registry's message.
        message: String,
        /// What to do.
        fix: String,
    },
    /// The Engine API failed.
    #[error("Docker Engine error while pushing {reference}: {source}")]
    Engine {
        /// What was pushed.
        reference: String,
        /// bollard's error.
        source: bollard::errors::Error,
    },
}

impl Coded for PushError {
    fn exit_status(&self) -> ExitStatus {
        match self {
            PushError::Registry { .. } => ExitStatus::Registry,
            PushError::Engine { .. } => ExitStatus::Engine,
        }
    }
}

/// Progress of a push. bollard's `PushImageInfo` drops the daemon's layer id, so a layer is
/// told apart by its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushProgress {
    /// Bytes of a layer sent so far.
    Layer {
        /// The layer's size, standing in for its id.
        size: u64,
        /// Bytes sent.
        sent: u64,
    },
    /// The registry already had a layer.
    LayerPresent,
    /// A layer finished uploading.
    LayerPushed,
}

/// What a push did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PushSummary {
    /// Layers uploaded.
    pub pushed: u32,
    /// Layers the registry already had.
    pub present: u32,
}

/// Push `repository:tag` with `credentials` (for `registry`, named in messages).
pub async fn push(
    docker: &Docker,
    registry: &str,
    repository: &str,
    tag: &str,
    credentials: Option<DockerCredentials>,
    mut progress: impl FnMut(PushProgress),
) -> Result<PushSummary, PushError> {
    let docker = docker.clone().with_timeout(PUSH_TIMEOUT);
    let reference = format!("{repository}:{tag}");
    let options = PushImageOptionsBuilder::default().tag(tag).build();
    let mut stream = docker.push_image(repository, Some(options), credentials);
    let mut summary = PushSummary::default();
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                    return Err(registry_error(&reference, registry, detail));
                }
                match info.status.as_deref() {
                    Some("Layer already exists") => {
                        summary.present += 1;
                        progress(PushProgress::LayerPresent);
                    }
                    Some("Pushed") => {
                        summary.pushed += 1;
                        progress(PushProgress::LayerPushed);
                    }
                    Some("Pushing") => {
                        if let Some(detail) = info.progress_detail
                            && let (Some(sent), Some(size)) = (detail.current, detail.total)
                        {
                            progress(PushProgress::Layer {
                                size: u64::try_from(size).unwrap_or(0),
                                sent: u64::try_from(sent).unwrap_or(0),
                            });
                        }
                    }
                    _ => {}
                }
            }
            Err(bollard::errors::Error::DockerStreamError { error }) => {
                return Err(registry_error(&reference, registry, error));
            }
            Err(bollard::errors::Error::DockerResponseServerError { message, .. }) => {
                return Err(registry_error(&reference, registry, message));
            }
            Err(source) => return Err(PushError::Engine { reference, source }),
        }
    }
    Ok(summary)
}

fn registry_error(reference: &str, registry: &str, message: String) -> PushError {
    let lower = message.to_ascii_lowercase();
    let fix = if lower.contains("unauthorized")
        || lower.contains("authentication required")
        || lower.contains("no basic auth credentials")
        || lower.contains("denied")
    {
        format!("run `docker login {registry}` with an account that may push there")
    } else if lower.contains("connection refused")
        || lower.contains("no such host")
        || lower.contains("timeout")
    {
        format!("check that the registry {registry} is up and reachable from the Docker Engine")
    } else {
        format!("check the registry {registry}'s message above")
    };
    PushError::Registry {
        reference: reference.to_owned(),
        message: message.trim().to_owned(),
        fix,
    }
}

/// The digest the registry gave `repository` after a push, from the image's `RepoDigests`
/// (bollard drops the push stream's own digest message).
pub async fn pushed_digest(docker: &Docker, repository: &str, reference: &str) -> Option<String> {
    let image = docker.inspect_image(reference).await.ok()?;
    let prefix = format!("{repository}@");
    image
        .repo_digests?
        .into_iter()
        .find_map(|d| d.strip_prefix(&prefix).map(str::to_owned))
}

/// Per-layer progress folded into one total for display: bytes sent and bytes in all.
#[derive(Debug, Default)]
pub struct PushMeter {
    layers: HashMap<u64, u64>,
}

impl PushMeter {
    /// Record a layer update; returns (sent, total) over all layers seen so far.
    pub fn update(&mut self, size: u64, sent: u64) -> (u64, u64) {
        self.layers.insert(size, sent.min(size));
        (self.layers.values().sum(), self.layers.keys().sum())
    }
}
