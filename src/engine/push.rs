//! Pushing an image to its registry, and reading the digest the registry gave it.

use std::time::Duration;

use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::query_parameters::PushImageOptionsBuilder;

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
    /// The push's progress stopped coming (see [`super::stream_idle`]), or its setting is bad.
    #[error(transparent)]
    Stream(#[from] super::EngineError),
}

impl Coded for PushError {
    fn exit_status(&self) -> ExitStatus {
        match self {
            PushError::Registry { .. } => ExitStatus::Registry,
            PushError::Engine { .. } => ExitStatus::Engine,
            PushError::Stream(err) => err.exit_status(),
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
    let idle = super::stream_idle()?;
    let reference = format!("{repository}:{tag}");
    let options = PushImageOptionsBuilder::default().tag(tag).build();
    let mut stream = docker.push_image(repository, Some(options), credentials);
    let mut summary = PushSummary::default();
    // Bounded by silence, not by a total: a big layer on a slow link takes long, honestly.
    let what = || format!("pushing {reference}");
    while let Some(item) = super::next_within(&mut stream, idle, what).await? {
        match item {
            Ok(info) => {
                if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                    return Err(registry_error(&reference, registry, detail));
                }
                match info.status.as_deref() {
                    // A blob the registry holds in this repository, or mounts from another.
                    Some(status)
                        if status == "Layer already exists"
                            || status.starts_with("Mounted from") =>
                    {
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

/// Per-layer progress folded into one bar whose total never moves: the sizes of the image's
/// layers are known before the push (its history), so the bar starts at its full length and
/// only ever advances, layer by layer. The daemon's stream names layers by id, which bollard
/// drops, so an update is matched to a layer by its size and a finished or present layer to the
/// one it most likely is; the position is always within `0..=total` and never goes back.
#[derive(Debug, Default)]
pub struct PushMeter {
    /// Sizes of the layers not seen yet.
    pending: Vec<u64>,
    /// (size, bytes sent) of the layers being uploaded.
    active: Vec<(u64, u64)>,
    /// Bytes of the layers finished or already in the registry.
    done: u64,
    /// Bytes in all.
    total: u64,
    /// The highest position reported, so a correction never shows as a step back.
    shown: u64,
}

impl PushMeter {
    /// A meter for an image whose non-empty layers have `layer_sizes` bytes.
    pub fn new(layer_sizes: impl IntoIterator<Item = u64>) -> PushMeter {
        let mut pending: Vec<u64> = layer_sizes.into_iter().filter(|s| *s > 0).collect();
        pending.sort_unstable();
        let total = pending.iter().sum();
        PushMeter {
            pending,
            total,
            ..PushMeter::default()
        }
    }

    /// Record a progress update of the layer of `size` bytes; returns (sent, total).
    pub fn update(&mut self, size: u64, sent: u64) -> (u64, u64) {
        let sent = sent.min(size);
        if let Some(layer) = self.active.iter_mut().find(|(s, _)| *s == size) {
            layer.1 = layer.1.max(sent);
        } else {
            // A layer the history sizes differently (an empty layer's tar is a few bytes) is
            // tracked but leaves the total alone: a bar whose end moves is worse than a bar a
            // few bytes off, and the position is capped at the total.
            if let Some(at) = self.pending.iter().position(|s| *s == size) {
                self.pending.remove(at);
            }
            self.active.push((size, sent));
        }
        self.position()
    }

    /// A layer finished uploading: the active one closest to done, else the smallest unseen.
    pub fn pushed(&mut self) -> (u64, u64) {
        let closest = self
            .active
            .iter()
            .enumerate()
            .max_by(|(_, a), (_, b)| (a.1 * b.0.max(1)).cmp(&(b.1 * a.0.max(1))))
            .map(|(at, _)| at);
        if let Some(at) = closest {
            let (size, _) = self.active.remove(at);
            self.done += size;
        } else if !self.pending.is_empty() {
            self.done += self.pending.remove(0);
        }
        self.position()
    }

    /// The registry already had a layer: the largest unseen one (base layers are the big ones
    /// registries already hold).
    pub fn present(&mut self) -> (u64, u64) {
        if let Some(size) = self.pending.pop() {
            self.done += size;
        }
        self.position()
    }

    /// The push ended well: every byte is in the registry.
    pub fn complete(&mut self) -> (u64, u64) {
        self.shown = self.total;
        (self.total, self.total)
    }

    /// (sent, total), never lower than a position shown before.
    fn position(&mut self) -> (u64, u64) {
        let sent = self.done + self.active.iter().map(|(_, sent)| sent).sum::<u64>();
        self.shown = self.shown.max(sent.min(self.total));
        (self.shown, self.total)
    }
}

#[cfg(test)]
mod meter_tests {
    use super::PushMeter;

    #[test]
    fn the_total_is_fixed_up_front_and_the_position_only_advances_to_it() {
        let mut meter = PushMeter::new([0, 3_000, 8_000, 2_000]);
        let mut positions = vec![
            meter.present(),
            meter.update(2_000, 500),
            meter.update(3_000, 1_000),
            meter.update(2_000, 2_000),
            meter.pushed(),
            meter.update(3_000, 3_000),
            meter.pushed(),
        ];
        // The 8,000-byte layer was counted as present first; a later surprise changes nothing.
        positions.push(meter.pushed());
        assert!(
            positions.iter().all(|(_, total)| *total == 13_000),
            "{positions:?}"
        );
        assert!(
            positions.windows(2).all(|w| w[0].0 <= w[1].0),
            "never backwards: {positions:?}"
        );
        assert_eq!(positions.first(), Some(&(8_000, 13_000)));
        assert_eq!(positions.last(), Some(&(13_000, 13_000)));
    }

    #[test]
    fn an_unknown_layer_leaves_the_total_alone_and_sizes_are_capped() {
        let mut meter = PushMeter::new([1_000, 3_000]);
        assert_eq!(meter.update(28, 28), (28, 4_000));
        assert_eq!(meter.update(1_000, 1_500), (1_028, 4_000));
        assert_eq!(meter.update(3_000, 3_000), (4_000, 4_000));
        assert_eq!(meter.pushed(), (4_000, 4_000));
    }
}
