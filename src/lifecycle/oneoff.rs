//! One-off containers (`run`, `shell`, `task`): a service's container made one-off (its own
//! name, no published ports, no restart policy), attached to our terminal or streams, with
//! our signals passed on; removed afterwards by the caller.

use std::time::Duration;

use bollard::Docker;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::signal::unix::{SignalKind, signal};

use super::images::ensure_images;
use super::scope::EnvScope;
use super::up::create_networks_and_volumes;
use super::{names, plan};
use crate::engine::attach::{self, Channel};
use crate::engine::containers;
use crate::exit::{CommandError, ExitStatus};
use crate::interrupt::SelfHandled;
use crate::output::Event;
use crate::terminal;

/// `-e`, `-w`, `-u` of `run`.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `-e KEY=VALUE` or `-e KEY`.
    pub set_env: Vec<String>,
    /// `-w`.
    pub workdir: Option<String>,
    /// `-u`.
    pub user: Option<String>,
}

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The service (default: the compose file's first).
    pub service: Option<String>,
    /// The command (empty: the service's own).
    pub cmd: Vec<String>,
    /// A line to print before running (the original's banners).
    pub banner: Option<String>,
    /// `-e`, `-w`, `-u`.
    pub overrides: Overrides,
    /// `-T`: no TTY even on a terminal.
    pub no_tty: bool,
}

/// A one-off that ran.
#[derive(Debug, Clone)]
pub struct Ran {
    /// Its service.
    pub service: String,
    /// Its container's name.
    pub container: String,
    /// The command's exit code.
    pub code: i64,
}

/// Run `request` in a one-off container of `scope`'s environment (building or pulling its
/// image and creating the networks and volumes first, as `docker compose run` does) and
/// remove it afterwards, whatever happened. Output goes to `output_to(is_stderr, bytes)`.
pub async fn run(
    docker: &Docker,
    scope: &EnvScope,
    request: Request,
    emit: &(dyn Fn(Event) + Sync),
    output_to: &dyn Fn(&str, bool, &[u8]),
) -> anyhow::Result<Ran> {
    let service = pick_service(scope, request.service.as_deref())?;
    ensure_images(
        docker,
        scope,
        false,
        Some(std::slice::from_ref(&service)),
        emit,
    )
    .await?;
    create_networks_and_volumes(docker, scope, emit).await?;
    let streams = Streams::detect(request.no_tty);
    let mut spec = oneoff_spec(scope, &service, request.cmd, streams)?;
    apply_container_args(&mut spec, &request.overrides)?;
    if let Some(banner) = &request.banner {
        emit(Event::step(banner.clone()));
    }
    emit(Event::debug(format!("one-off container {}", spec.name)));
    let id = containers::create(docker, &spec).await?;
    let to = |stderr: bool, bytes: &[u8]| output_to(&service, stderr, bytes);
    let outcome = attached(docker, &id, streams, &to).await;
    // Removed whatever happened, as `docker run --rm` would.
    let removed = containers::remove(docker, &id).await;
    let code = outcome?;
    removed?;
    Ok(Ran {
        service,
        container: spec.name,
        code,
    })
}

/// How the one-off talks to us: a TTY (both ends are terminals, no `-T`), or plain streams with
/// our stdin passed when it is a pipe or a file, as `docker compose run` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Streams {
    /// A TTY.
    pub tty: bool,
    /// Our stdin is passed.
    pub stdin: bool,
}

impl Streams {
    /// Decide from our terminals and `-T`.
    pub fn detect(no_tty: bool) -> Streams {
        use std::io::IsTerminal;
        let tty = terminal::interactive() && !no_tty;
        Streams {
            tty,
            stdin: tty || !std::io::stdin().is_terminal() || no_tty,
        }
    }
}

/// The service to run: `wanted`, else the compose file's first.
fn pick_service(scope: &EnvScope, wanted: Option<&str>) -> anyhow::Result<String> {
    let known: Vec<&str> = scope.file.services.keys().map(String::as_str).collect();
    match wanted {
        Some(name) if scope.file.services.contains_key(name) => Ok(name.to_owned()),
        Some(name) => Err(CommandError::new(
            ExitStatus::InvalidInput,
            format!(
                "environment `{}` has no service `{name}`; services: {}",
                scope.env(),
                known.join(", ")
            ),
        )
        .into()),
        None => known.first().map(|s| (*s).to_owned()).ok_or_else(|| {
            CommandError::new(
                ExitStatus::InvalidInput,
                format!("the compose file of `{}` has no services", scope.env()),
            )
            .into()
        }),
    }
}

/// The service's container, made one-off: its own name and labels, no published ports, no
/// restart policy, the given command.
fn oneoff_spec(
    scope: &EnvScope,
    service: &str,
    cmd: Vec<String>,
    streams: Streams,
) -> anyhow::Result<containers::ContainerSpec> {
    let Some(definition) = scope.file.services.get(service) else {
        return Err(anyhow::anyhow!("no service {service}"));
    };
    let target = scope.target();
    let mut spec = plan::service_spec(&target, service, definition);
    spec.name = names::oneoff_name(&scope.project, service, &unique_suffix());
    spec.labels
        .extend(plan::compose_labels(&target, service, true));
    spec.ports.clear();
    spec.restart = None;
    spec.hostname = None;
    if !cmd.is_empty() {
        spec.cmd = Some(cmd);
    }
    spec.tty = streams.tty;
    spec.stdin_open = streams.stdin;
    spec.attach_stdin = streams.stdin;
    if let Some(network) = spec.network.as_mut() {
        // A one-off is not the service: other containers must not reach it by its name.
        network.aliases.clear();
    }
    for extra in &mut spec.extra_networks {
        extra.aliases.clear();
    }
    Ok(spec)
}

/// `-e KEY=VALUE` (or `-e KEY`: this shell's value, skipped when unset), `-w`, `-u`.
fn apply_container_args(
    spec: &mut containers::ContainerSpec,
    args: &Overrides,
) -> anyhow::Result<()> {
    for entry in &args.set_env {
        let assignment = match entry.split_once('=') {
            Some(("", _)) => {
                return Err(CommandError::new(
                    ExitStatus::Usage,
                    format!("-e `{entry}` has no name; write -e KEY=VALUE"),
                )
                .into());
            }
            Some(_) => entry.clone(),
            None => match std::env::var(entry) {
                Ok(value) => format!("{entry}={value}"),
                Err(_) => continue,
            },
        };
        let key = assignment.split('=').next().unwrap_or_default().to_owned();
        spec.env
            .retain(|e| e.split('=').next() != Some(key.as_str()));
        spec.env.push(assignment);
    }
    if let Some(dir) = &args.workdir {
        spec.working_dir = Some(dir.clone());
    }
    if let Some(user) = &args.user {
        spec.user = Some(user.clone());
    }
    Ok(())
}

/// Twelve hex digits from the clock and the process id: unique enough for a container name.
fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mixed = nanos ^ (u128::from(std::process::id()) << 64);
    format!("{:012x}", mixed & 0xffff_ffff_ffff)
}

/// Attach, start, pump output (and our stdin when it is passed) until the container exits; its
/// exit code. Ctrl-C without a TTY stops the container and exits 130.
async fn attached(
    docker: &Docker,
    id: &str,
    streams: Streams,
    output_to: &dyn Fn(bool, &[u8]),
) -> anyhow::Result<i64> {
    let attachment = attach::attach(docker, id, streams.stdin).await?;
    containers::start(docker, id).await?;
    let _raw = if streams.tty {
        if let Some((columns, rows)) = terminal::size() {
            // The TTY may not exist for a moment after start; a missed resize is cosmetic.
            let _ = attach::resize(docker, id, columns, rows).await;
        }
        terminal::RawMode::enter()
    } else {
        None
    };
    if streams.stdin {
        forward_stdin(attachment.input);
    }
    let _guard = SelfHandled::enter();
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut interrupts = 0;
    let mut output = attachment.output;
    loop {
        tokio::select! {
            _ = sigint.recv() => {
                interrupts += 1;
                if interrupts > 1 {
                    containers::stop(docker, id, Duration::from_secs(2)).await?;
                    return Err(CommandError::new(ExitStatus::Interrupted, "interrupted: the one-off container was stopped and removed").into());
                }
                containers::kill(docker, id, "SIGINT").await?;
            }
            _ = sigterm.recv() => containers::kill(docker, id, "SIGTERM").await?,
            chunk = output.next() => match chunk {
                Some(Ok((channel, bytes))) => {
                    output_to(channel == Channel::Stderr, &bytes);
                }
                Some(Err(err)) => return Err(err.into()),
                None => break,
            },
        }
    }
    Ok(containers::wait(docker, id).await?)
}

/// Copy our stdin into the container from a plain thread: a blocking read on a terminal would
/// otherwise hold the runtime open after the container is gone.
fn forward_stdin(mut input: std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>) {
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<u8>>(16);
    std::thread::spawn(move || {
        use std::io::Read;
        let mut stdin = std::io::stdin();
        let mut buffer = [0u8; 1024];
        loop {
            match stdin.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if sender.blocking_send(buffer[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    tokio::spawn(async move {
        while let Some(bytes) = receiver.recv().await {
            if input.write_all(&bytes).await.is_err() || input.flush().await.is_err() {
                break;
            }
        }
        let _ = input.shutdown().await;
    });
}
