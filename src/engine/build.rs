//! Building one image through the Engine API, with the context streamed from disk.
//!
//! The tar is written on a blocking thread into a bounded pipe that is the request body, so the
//! upload starts while files are still being read and memory stays flat whatever the context
//! size. The classic builder is used (what `DOCKER_BUILDKIT=0 docker build` talks to).

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::BuildImageOptionsBuilder;
use futures_util::StreamExt;
use regex::Regex;
use tokio_util::io::{ReaderStream, SyncIoBridge};

use super::builder::{BuilderChoice, daemon_offers_buildkit};
use super::context::{ContextError, ContextStats, write_context_tar};
use crate::exit::{Coded, ExitStatus};
use crate::ignore::docker::ContextEntry;

/// Builds may take hours; bollard's default 120 s limit covers the whole upload and the daemon's
/// first answer, which a large context or a slow first step exceeds.
const BUILD_TIMEOUT: Duration = Duration::from_secs(6 * 3600);

/// Lines of daemon output kept to explain a failure.
const TAIL_LINES: usize = 15;

/// Size of the pipe between the tar writer and the HTTP body.
const PIPE_BYTES: usize = 256 * 1024;

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// The context directory.
    pub context_root: PathBuf,
    /// What to send from it (already filtered by `.dockerignore` and checked for secrets).
    pub entries: Vec<ContextEntry>,
    /// The Dockerfile, relative to the context, `/`-separated.
    pub dockerfile: String,
    /// The tag to give the image.
    pub tag: String,
    /// Labels to set on the image.
    pub labels: HashMap<String, String>,
    /// `--build-arg` values.
    pub build_args: HashMap<String, String>,
    /// Ignore the build cache.
    pub no_cache: bool,
    /// Always try to pull a newer base image.
    pub pull: bool,
    /// A multi-stage target.
    pub target: Option<String>,
    /// The builder asked for (`auto` picks BuildKit when the daemon offers it).
    pub builder: BuilderChoice,
    /// Build secrets by id, for `RUN --mount=type=secret` (BuildKit only).
    pub secrets: super::buildkit::secrets::BuildSecrets,
    /// Platform, cache sources, network, hosts, `/dev/shm` and SSH agents.
    pub settings: BuildSettings,
    /// The AWS profile for ECR-hosted base images (the environment's; `None`: the SDK's
    /// default chain).
    pub aws_profile: Option<String>,
}

/// Build options that come from flags or a compose `build:` section alike.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildSettings {
    /// The platform to build for (`--platform`, compose `platform`).
    pub platform: Option<String>,
    /// Images whose layers may serve as cache (`--cache-from`, compose `build.cache_from`).
    pub cache_from: Vec<String>,
    /// The network of `RUN` steps (`--network`, compose `build.network`).
    pub network: Option<String>,
    /// `host:ip` entries for `/etc/hosts` of `RUN` steps (`--add-host`, compose
    /// `build.extra_hosts`).
    pub extra_hosts: Vec<String>,
    /// The size of `/dev/shm` of `RUN` steps, in bytes (`--shm-size`, compose
    /// `build.shm_size`).
    pub shm_size: Option<u64>,
    /// SSH agents for `RUN --mount=type=ssh` (`--ssh`, compose `build.ssh`): `default`
    /// (`$SSH_AUTH_SOCK`) or `id=socket` (BuildKit only).
    pub ssh: Vec<String>,
}

impl BuildSettings {
    /// These settings with `over`'s on top: single values of `over` win, lists add up (an SSH
    /// id given twice keeps `over`'s socket).
    pub fn overlaid(mut self, over: &BuildSettings) -> BuildSettings {
        if over.platform.is_some() {
            self.platform = over.platform.clone();
        }
        if over.network.is_some() {
            self.network = over.network.clone();
        }
        if over.shm_size.is_some() {
            self.shm_size = over.shm_size;
        }
        for image in &over.cache_from {
            if !self.cache_from.contains(image) {
                self.cache_from.push(image.clone());
            }
        }
        for host in &over.extra_hosts {
            if !self.extra_hosts.contains(host) {
                self.extra_hosts.push(host.clone());
            }
        }
        let id_of = |spec: &str| spec.split('=').next().unwrap_or_default().to_owned();
        for spec in &over.ssh {
            self.ssh.retain(|s| id_of(s) != id_of(spec));
            self.ssh.push(spec.clone());
        }
        self
    }
}

/// Progress reported while building.
#[derive(Debug, Clone, PartialEq)]
pub enum BuildProgress {
    /// The builder started a Dockerfile step.
    Step {
        /// 1-based step number.
        number: usize,
        /// Steps in all.
        total: usize,
        /// The instruction, e.g. `RUN make`.
        instruction: String,
    },
    /// A line of the daemon's output.
    Output(String),
    /// Something stevedore decided that the user should see (e.g. the builder it switched to).
    Note(String),
    /// A BuildKit step finished: `status` is `CACHED`, `DONE 1.2s` or `ERROR`.
    Done {
        /// The step, e.g. `[2/6] RUN make`.
        instruction: String,
        /// How it ended.
        status: String,
    },
    /// A base-image layer is being pulled.
    Pull {
        /// The layer or image.
        id: String,
        /// What the daemon says.
        status: String,
        /// Bytes done and in all, when reported.
        current: Option<i64>,
        /// Bytes in all.
        total: Option<i64>,
    },
}

/// A finished build.
#[derive(Debug, Clone)]
pub struct BuildOutcome {
    /// The image id (`sha256:…`).
    pub image_id: String,
    /// What was sent.
    pub context: ContextStats,
    /// Steps in the Dockerfile.
    pub steps: usize,
}

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The Dockerfile failed; `step` is where, `tail` the last output lines.
    #[error("building {tag} failed at {step}: {message}{}", render_tail(tail))]
    Failed {
        /// The image being built.
        tag: String,
        /// `Step 3/9 : RUN make`, or `before the first step`.
        step: String,
        /// The daemon's error.
        message: String,
        /// The last lines of output.
        tail: Vec<String>,
    },
    /// The context could not be read.
    #[error(transparent)]
    Context(#[from] ContextError),
    /// The Engine API failed (unreachable, rejected the request).
    #[error("Docker Engine error while building {tag}: {source}")]
    Engine {
        /// The image being built.
        tag: String,
        /// bollard's error.
        source: bollard::errors::Error,
    },
    /// The thread writing the context died.
    #[error("the build context writer stopped unexpectedly: {0}")]
    ContextWriter(String),
    /// The Dockerfile asks for a `# syntax=` frontend that the daemon cannot get.
    #[error(
        "building {tag} failed: {dockerfile} line {line} asks for the Dockerfile frontend \
         `# syntax={syntax}`, which the Docker Engine could not load (it is pulled as an image \
         and no registry serving it is reachable). Remove the line to use the Engine's built-in \
         frontend, or keep `# syntax=docker/dockerfile:1` and build where docker.io (or a mirror \
         holding that image) is reachable"
    )]
    Frontend {
        /// The image being built.
        tag: String,
        /// The Dockerfile, relative to the context.
        dockerfile: String,
        /// The line of the directive.
        line: usize,
        /// The frontend it names.
        syntax: String,
    },
    /// BuildKit was asked for but the daemon does not offer it.
    #[error(
        "the Docker Engine at {host} does not offer BuildKit; use `--builder classic` (or \
         `[image] builder = \"classic\"`), or enable BuildKit on the daemon"
    )]
    NoBuildkit {
        /// The daemon.
        host: String,
    },
    /// The Dockerfile is not in the classic context (`.dockerignore` excludes it in a way the
    /// Docker CLI's build-file check misses, so `docker build` leaves it out too).
    #[error(
        "{dockerfile} is excluded by .dockerignore, so the classic builder (like \
         `DOCKER_BUILDKIT=0 docker build`) gets a context without it. Add the line \
         `!{dockerfile}` to .dockerignore, or build with BuildKit (`--builder buildkit`), which \
         reads the Dockerfile apart from the context"
    )]
    DockerfileExcluded {
        /// The Dockerfile, relative to the context.
        dockerfile: String,
    },
    /// An `--ssh` (or compose `build.ssh`) entry cannot be used.
    #[error("--ssh {spec}: {reason}")]
    Ssh {
        /// What was given.
        spec: String,
        /// What is wrong.
        reason: String,
    },
    /// BuildKit on this daemon cannot do what the build asks for.
    #[error(
        "building {tag}: BuildKit ignores {feature}; build with `--builder classic` (or `auto`)"
    )]
    BuildkitLacks {
        /// The image being built.
        tag: String,
        /// What BuildKit lacks.
        feature: String,
    },
    /// The classic builder cannot do what the build asks for.
    #[error(
        "building {tag}: {feature} needs BuildKit, and this build uses the classic builder; \
         drop `--builder classic` / `DOCKER_BUILDKIT=0` (or `[image] builder = \"classic\"`)"
    )]
    NeedsBuildkit {
        /// The image being built.
        tag: String,
        /// What needs BuildKit.
        feature: String,
    },
    /// The daemon ended the build without naming the image.
    #[error("the Docker Engine finished building {tag} without reporting an image id")]
    NoImageId {
        /// The image being built.
        tag: String,
    },
}

fn render_tail(tail: &[String]) -> String {
    if tail.is_empty() {
        String::new()
    } else {
        format!("\nlast output:\n  {}", tail.join("\n  "))
    }
}

impl Coded for BuildError {
    fn exit_status(&self) -> ExitStatus {
        match self {
            BuildError::Context(context) => context.exit_status(),
            BuildError::ContextWriter(_) => ExitStatus::Failure,
            BuildError::DockerfileExcluded { .. }
            | BuildError::NeedsBuildkit { .. }
            | BuildError::BuildkitLacks { .. }
            | BuildError::Ssh { .. } => ExitStatus::InvalidInput,
            _ => ExitStatus::Engine,
        }
    }
}

static STEP: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^Step (\d+)/(\d+) : (.*)$").ok());
static BUILT: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^Successfully built ([0-9a-f]{12,64})$").ok());

/// Whether a build asking for `request_builder` (already resolved) uses BuildKit.
pub async fn uses_buildkit(request_builder: BuilderChoice) -> Result<bool, BuildError> {
    let choice = request_builder;
    if choice == BuilderChoice::Classic {
        return Ok(false);
    }
    let offered = match super::buildkit::daemon_socket() {
        Some(socket) => daemon_offers_buildkit(&socket).await,
        None => false,
    };
    if !offered && choice == BuilderChoice::Buildkit {
        return Err(BuildError::NoBuildkit {
            host: super::docker_host(),
        });
    }
    Ok(offered)
}

/// Build `request`, reporting progress to `progress`: with BuildKit when chosen (see
/// [`BuilderChoice`]), else with the classic builder. The daemon pulls the base images
/// itself, so the user's credentials for their registries are resolved once, here, and handed
/// to either builder (BuildKit asks for them on the session; the classic builder gets them in
/// `X-Registry-Config`).
pub async fn build(
    docker: &Docker,
    mut request: BuildRequest,
    mut progress: impl FnMut(BuildProgress) + Send,
) -> Result<BuildOutcome, BuildError> {
    let dockerfile_text =
        std::fs::read_to_string(request.context_root.join(&request.dockerfile)).unwrap_or_default();
    let images = crate::registry::build_auth::base_images(&dockerfile_text, &request.build_args);
    let profile = request.aws_profile.clone();
    let credentials =
        crate::registry::build_auth::build_credentials(&images, profile.as_deref()).await;
    if uses_buildkit(request.builder).await?
        && let Some(socket) = super::buildkit::daemon_socket()
        && buildkit_can(docker, &request, &mut progress).await?
    {
        let secrets = std::mem::take(&mut request.secrets).0;
        return super::buildkit::build(&socket, request, secrets, &credentials, progress).await;
    }
    build_classic(docker, request, credentials, progress).await
}

/// Whether BuildKit on this daemon honours everything `request` asks for. BuildKit of Engines
/// before 23.0 (API 1.42) ignores `shm_size`: `auto` then builds with the classic builder (and
/// says so), `buildkit` refuses rather than build with the default `/dev/shm`.
async fn buildkit_can(
    docker: &Docker,
    request: &BuildRequest,
    progress: &mut (impl FnMut(BuildProgress) + Send),
) -> Result<bool, BuildError> {
    if request.settings.shm_size.is_none() {
        return Ok(true);
    }
    let api = docker
        .version()
        .await
        .ok()
        .and_then(|v| v.api_version)
        .unwrap_or_default();
    let mut parts = api.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if (major, minor) >= (1, 42) {
        return Ok(true);
    }
    if request.builder == BuilderChoice::Auto {
        progress(BuildProgress::Note(format!(
            "using the classic builder: BuildKit of this Docker Engine (API {api}) ignores shm_size"
        )));
        return Ok(false);
    }
    Err(BuildError::BuildkitLacks {
        tag: request.tag.clone(),
        feature: format!("shm_size (`--shm-size`) on this Docker Engine (API {api}, before 23.0)"),
    })
}

/// Build `request` with the classic builder, the context streamed as a tar; `credentials` go
/// to the daemon for its base-image pulls.
pub async fn build_classic(
    docker: &Docker,
    request: BuildRequest,
    credentials: HashMap<String, bollard::auth::DockerCredentials>,
    mut progress: impl FnMut(BuildProgress) + Send,
) -> Result<BuildOutcome, BuildError> {
    let mut request = request;
    super::build_proxy::add_proxy_build_args(&mut request.build_args);
    if let Some(feature) = classic_lacks(&request) {
        return Err(BuildError::NeedsBuildkit {
            tag: request.tag.clone(),
            feature,
        });
    }
    let docker = docker.clone().with_timeout(BUILD_TIMEOUT);
    let (reader, writer) = tokio::io::duplex(PIPE_BYTES);
    let root = request.context_root.clone();
    let entries = request.entries.clone();
    // Buffer on both sides of the pipe: each write into the bridge is a trip through the
    // runtime, and each body chunk an HTTP chunk; small ones made uploads of many small files
    // slow.
    // A context that fails half-way must not reach the daemon as a shorter, complete-looking
    // tar (it would build and tag from it): the body then ends in an error, which aborts the
    // upload, instead of ending cleanly.
    let failed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let producer = tokio::task::spawn_blocking({
        let failed = failed.clone();
        move || {
            let mut bridge =
                std::io::BufWriter::with_capacity(PIPE_BYTES, SyncIoBridge::new(writer));
            let written = write_context_tar(&root, entries, &mut bridge);
            if written.is_err() {
                failed.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            // Only now does the pipe close, so the body sees the flag at its end.
            drop(bridge);
            written
        }
    });
    let aborted = futures_util::stream::once(async move {
        failed.load(std::sync::atomic::Ordering::SeqCst).then(|| {
            Err(std::io::Error::other(
                "the build context could not be written",
            ))
        })
    })
    .filter_map(std::future::ready);
    let body =
        bollard::body_try_stream(ReaderStream::with_capacity(reader, PIPE_BYTES).chain(aborted));
    let mut options = BuildImageOptionsBuilder::default()
        .dockerfile(&request.dockerfile)
        .t(&request.tag)
        .rm(true)
        .forcerm(true)
        .nocache(request.no_cache)
        .labels(&request.labels)
        .buildargs(&request.build_args);
    if request.pull {
        options = options.pull("1");
    }
    if let Some(target) = &request.target {
        options = options.target(target);
    }
    let settings = &request.settings;
    if let Some(platform) = &settings.platform {
        options = options.platform(platform);
    }
    if !settings.cache_from.is_empty() {
        options = options.cachefrom(&settings.cache_from);
    }
    if let Some(network) = &settings.network {
        options = options.networkmode(network);
    }
    if let Some(host) = settings.extra_hosts.first() {
        options = options.extrahosts(host);
    }
    if let Some(size) = settings.shm_size {
        options = options.shmsize(i32::try_from(size).unwrap_or(i32::MAX));
    }
    let credentials = (!credentials.is_empty()).then_some(credentials);
    let mut stream = docker.build_image(options.build(), credentials, Some(body));
    let mut state = StreamState::default();
    let mut failure = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => state.absorb(info, &mut progress),
            Err(bollard::errors::Error::DockerStreamError { error }) => {
                failure = Some(state.failed(&request.tag, error));
                break;
            }
            Err(source) => {
                failure = Some(BuildError::Engine {
                    tag: request.tag.clone(),
                    source,
                });
                break;
            }
        }
    }
    drop(stream);
    // The writer fails with a broken pipe when the daemon stops reading early; the daemon's
    // own error is the one worth showing then. A file that could not be read aborted the
    // upload itself: that is the cause, whatever the daemon made of it.
    let written = match producer.await {
        Ok(Err(err)) if !matches!(err, ContextError::Write { .. }) => {
            return Err(BuildError::Context(err));
        }
        other => other,
    };
    if let Some(failure) = failure {
        return Err(failure);
    }
    let context = match written {
        Ok(result) => result?,
        Err(join) => return Err(BuildError::ContextWriter(join.to_string())),
    };
    let image_id = state.image_id.ok_or_else(|| BuildError::NoImageId {
        tag: request.tag.clone(),
    })?;
    Ok(BuildOutcome {
        image_id,
        context,
        steps: state.total_steps,
    })
}

/// What the classic builder cannot honour in `request`, if anything: SSH forwarding and more
/// than one extra host (the Engine API takes them as a repeated query parameter, which the
/// client library sends once).
fn classic_lacks(request: &BuildRequest) -> Option<String> {
    if !request.settings.ssh.is_empty() {
        return Some("SSH agent forwarding (`--ssh`, compose `build.ssh`)".to_owned());
    }
    if request.settings.extra_hosts.len() > 1 {
        return Some(format!(
            "more than one extra host ({})",
            request.settings.extra_hosts.join(", ")
        ));
    }
    None
}

/// What the daemon's stream has told us so far.
#[derive(Default)]
struct StreamState {
    step: Option<String>,
    total_steps: usize,
    tail: VecDeque<String>,
    image_id: Option<String>,
}

impl StreamState {
    fn absorb(
        &mut self,
        info: bollard::models::BuildInfo,
        progress: &mut impl FnMut(BuildProgress),
    ) {
        if let Some(id) = info.aux.and_then(|aux| aux.id) {
            self.image_id = Some(id);
        }
        if let Some(text) = info.stream {
            for line in text.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
                self.line(line, progress);
            }
        }
        if let Some(status) = info.status {
            let detail = info.progress_detail;
            progress(BuildProgress::Pull {
                id: info.id.unwrap_or_default(),
                status,
                current: detail.as_ref().and_then(|d| d.current),
                total: detail.as_ref().and_then(|d| d.total),
            });
        }
    }

    fn line(&mut self, line: &str, progress: &mut impl FnMut(BuildProgress)) {
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(line.to_owned());
        if let Some(caps) = STEP.as_ref().and_then(|re| re.captures(line)) {
            let number = caps[1].parse().unwrap_or(0);
            let total = caps[2].parse().unwrap_or(0);
            self.total_steps = total;
            self.step = Some(line.to_owned());
            progress(BuildProgress::Step {
                number,
                total,
                instruction: caps[3].to_owned(),
            });
            return;
        }
        if let Some(caps) = BUILT.as_ref().and_then(|re| re.captures(line))
            && self.image_id.is_none()
        {
            self.image_id = Some(format!("sha256:{}", &caps[1]));
        }
        progress(BuildProgress::Output(line.to_owned()));
    }

    fn failed(&mut self, tag: &str, message: String) -> BuildError {
        BuildError::Failed {
            tag: tag.to_owned(),
            step: self
                .step
                .clone()
                .unwrap_or_else(|| "before the first step".to_owned()),
            message: message.trim().to_owned(),
            tail: self.tail.drain(..).collect(),
        }
    }
}
