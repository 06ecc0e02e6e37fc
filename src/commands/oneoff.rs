//! `run <env> [service] -- cmd…` and `shell <env> [service]`: a one-off container of a
//! service, removed afterwards; a TTY when stdin and stdout are terminals; the command's exit
//! code becomes stevedore's. The environment need not be running (as `run --no-deps`).

use std::time::Duration;

use bollard::Docker;
use futures_util::StreamExt;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::signal::unix::{SignalKind, signal};

use super::Context;
use super::lifecycle_scope::{self, EnvScope, Runtime};
use super::service_images::ensure_images;
use super::start::create_networks_and_volumes;
use crate::cli::{ComposeArgs, OneOffArgs};
use crate::engine;
use crate::engine::attach::{self, Channel};
use crate::engine::containers;
use crate::exit::{CommandError, ExitStatus};
use crate::interrupt::SelfHandled;
use crate::lifecycle::{names, plan};
use crate::output::{Event, Report};
use crate::terminal;

/// What to run.
pub struct OneOff {
    /// The environment.
    pub env: String,
    /// The service (default: the compose file's first).
    pub service: Option<String>,
    /// `-f` and `-p`.
    pub compose: ComposeArgs,
    /// The command (empty: the service's own).
    pub cmd: Vec<String>,
    /// A line to print before running (the original's banners).
    pub banner: Option<String>,
    /// `-T`, `-e`, `-w`, `-u`.
    pub container: OneOffArgs,
}

/// How the one-off talks to us: a TTY (both ends are terminals, no `-T`), or plain streams with
/// our stdin passed when it is a pipe or a file, as `docker compose run` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Streams {
    tty: bool,
    stdin: bool,
}

impl Streams {
    fn detect(no_tty: bool) -> Streams {
        use std::io::IsTerminal;
        let tty = terminal::interactive() && !no_tty;
        Streams {
            tty,
            stdin: tty || !std::io::stdin().is_terminal() || no_tty,
        }
    }
}

/// Run a one-off container and return its exit code as the command's status.
pub async fn run(ctx: &Context, what: OneOff) -> anyhow::Result<Report> {
    let scope = lifecycle_scope::load(ctx, &what.env, &what.compose, Runtime::Read)?;
    let service = pick_service(&scope, what.service.as_deref())?;
    let docker = engine::connect().await?;
    ensure_images(
        ctx,
        &docker,
        &scope,
        false,
        Some(std::slice::from_ref(&service)),
    )
    .await?;
    create_networks_and_volumes(ctx, &docker, &scope).await?;
    let streams = Streams::detect(what.container.no_tty);
    let mut spec = oneoff_spec(&scope, &service, what.cmd, streams)?;
    apply_container_args(&mut spec, &what.container)?;
    if let Some(banner) = &what.banner {
        ctx.printer.emit(Event::step(banner.clone()));
    }
    ctx.printer
        .emit(Event::debug(format!("one-off container {}", spec.name)));
    let id = containers::create(&docker, &spec).await?;
    let outcome = attached(ctx, &docker, &id, &service, streams).await;
    // Removed whatever happened, as `docker run --rm` would.
    let removed = containers::remove(&docker, &id).await;
    let code = outcome?;
    removed?;
    let status = match code {
        0 => ExitStatus::Ok,
        code => ExitStatus::Child(u8::try_from(code).unwrap_or(1)),
    };
    Ok(Report {
        data: json!({
            "environment": scope.env(),
            "service": service,
            "container": spec.name,
            "exit_code": code,
        }),
        text: String::new(),
        status,
    })
}

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
    args: &OneOffArgs,
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
    ctx: &Context,
    docker: &Docker,
    id: &str,
    service: &str,
    streams: Streams,
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
                    ctx.printer.passthrough(service, channel == Channel::Stderr, &bytes);
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
