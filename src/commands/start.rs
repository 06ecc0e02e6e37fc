//! `stevedore start <env>`: build or pull what is missing, create the network, volumes and
//! containers in dependency order (a layer in parallel), wait until they are up and healthy,
//! print the published URLs, then follow the logs until Ctrl-C, which detaches.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::Docker;
use futures_util::future::try_join_all;
use serde_json::json;

use super::Context;
use super::follow::{self, Ended};
use super::lifecycle_scope::{self, EnvScope, Runtime};
use super::readiness::{self, Awaited};
use super::service_images::ensure_images;
use crate::cli::StartArgs;
use crate::compose::{self, Condition};
use crate::engine::containers::{self, ContainerInfo};
use crate::engine::logs::{LogOptions, LogSource};
use crate::engine::{self, networks, volumes};
use crate::exit::{CommandError, ExitStatus};
use crate::hint;
use crate::lifecycle::plan::{self, Action, Current, Desired, Step};
use crate::lifecycle::ready::Goal;
use crate::output::{Event, Report};

/// Grace period for a container being replaced.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// Log lines of history shown when following starts.
const FOLLOW_TAIL: u64 = 20;

/// Run `start`.
pub async fn run(ctx: &Context, args: StartArgs) -> anyhow::Result<Report> {
    let timeout = parse_timeout(&args.timeout)?;
    let scope = lifecycle_scope::load(ctx, &args.env, &args.compose, Runtime::Read)?;
    let _lock = super::lock_env(ctx, &scope.base.project.root, scope.env(), "start").await?;
    let docker = engine::connect().await?;
    let image_ids = ensure_images(ctx, &docker, &scope, args.build, None).await?;
    let existing = containers::list(&docker, &plan::project_selector(&scope.project)).await?;
    let desired = plan::desired(&scope.target());
    let layers = scope.file.startup_order()?;
    let plan = plan::plan(
        &desired,
        &layers,
        &scope.file,
        Current {
            containers: &existing,
            image_ids: &image_ids,
            force_recreate: args.force_recreate,
        },
    );
    handle_orphans(ctx, &docker, &plan.orphans, args.remove_orphans).await?;

    let deadline = Instant::now() + timeout;
    let mut ids: HashMap<String, String> = HashMap::new();
    if plan.is_noop() {
        ctx.printer.emit(Event::info(format!(
            "environment {} is up to date: {} container(s) running, nothing changed",
            scope.env(),
            desired.len()
        )));
        for step in plan.steps() {
            if let Action::Keep { id } = &step.action {
                ids.insert(step.service.clone(), id.clone());
            }
        }
    } else {
        ctx.printer.emit(Event::step(format!(
            "Starting environment {} (project {})",
            scope.env(),
            scope.project
        )));
        create_networks_and_volumes(ctx, &docker, &scope).await?;
        let mut applier = Applier {
            ctx,
            env: scope.env(),
            docker: &docker,
            desired: &desired,
            deadline,
            timeout,
            precreated: HashMap::new(),
        };
        for (index, layer) in plan.layers.iter().enumerate() {
            let layer_done = try_join_all(layer.iter().map(|step| applier.apply(step, &ids)));
            if index == 0 {
                // While the first layer starts, create (not start) the later layers' new
                // containers that need nothing at creation: the daemon's start is the slow part.
                let later: Vec<&Step> = plan.layers[1..]
                    .iter()
                    .flatten()
                    .filter(|step| creatable_early(&scope.file, step))
                    .collect();
                let (started, created) = tokio::join!(
                    layer_done,
                    try_join_all(later.into_iter().map(|step| applier.create(step)))
                );
                ids.extend(started?);
                applier.precreated = created?.into_iter().collect();
            } else {
                ids.extend(layer_done.await?);
            }
        }
    }

    // As Compose: `--detach` returns once started (depends_on conditions were met on the way);
    // `--wait`, and following the logs, first wait for every container to be up and healthy.
    let detach = args.detach || args.wait;
    let waited = args.wait || !detach;
    if waited {
        let awaited = final_goals(&scope, &ids);
        readiness::wait_all(&docker, &ctx.printer, &awaited, deadline, timeout).await?;
    }
    let state = if waited { "is up" } else { "is started" };
    let running = containers::list(&docker, &plan::project_selector(&scope.project)).await?;
    let urls = published_urls(&running);
    for (service, url) in &urls {
        ctx.printer
            .emit(Event::success(format!("{service} {state}: {url}")));
    }
    if urls.is_empty() {
        ctx.printer.emit(Event::success(format!(
            "environment {} {state} (no published ports)",
            scope.env()
        )));
    }
    if !waited {
        ctx.printer.emit(Event::info(
            "not waiting for health checks; `start --wait` waits for every container",
        ));
    }
    if args.open
        && let Some((_, url)) = urls.first()
    {
        open_browser(ctx, url);
    }
    let data = json!({
        "environment": scope.env(),
        "project": scope.project,
        "services": plan.steps().map(|step| json!({
            "service": step.service,
            "container": desired.iter().find(|d| d.service == step.service).map(|d| d.spec.name.clone()),
            "id": ids.get(&step.service),
            "action": action_name(&step.action),
        })).collect::<Vec<_>>(),
        "urls": urls.iter().map(|(service, url)| json!({"service": service, "url": url})).collect::<Vec<_>>(),
        "orphans": plan.orphans.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
    });
    if !detach {
        let sources: Vec<LogSource> = desired
            .iter()
            .filter(|d| {
                // `attach: false`: Compose does not show the service's logs either.
                scope
                    .file
                    .services
                    .get(&d.service)
                    .is_none_or(|s| s.runtime.attach != Some(false))
            })
            .filter_map(|d| {
                ids.get(&d.service).map(|id| LogSource {
                    service: d.service.clone(),
                    container: id.clone(),
                })
            })
            .collect();
        ctx.printer.emit(Event::info(
            "Following the logs; Ctrl-C detaches (the containers keep running)",
        ));
        let options = LogOptions {
            follow: true,
            tail: Some(FOLLOW_TAIL),
            since: None,
        };
        if follow::follow(&docker, &ctx.printer, &sources, options).await? == Ended::Detached {
            ctx.printer.emit(Event::info(format!(
                "Detached: the containers keep running. Stop them with `{}`",
                hint::command(&["stop", scope.env()])
            )));
        }
    }
    Ok(Report::ok(data, ""))
}

fn parse_timeout(text: &str) -> anyhow::Result<Duration> {
    compose::parse_duration(text).map_err(|problem| {
        CommandError::new(
            ExitStatus::Usage,
            format!("--timeout {text}: {problem}; write e.g. 90s, 2m or 1m30s"),
        )
        .into()
    })
}

fn action_name(action: &Action) -> &'static str {
    match action {
        Action::Create => "created",
        Action::Recreate { .. } => "recreated",
        Action::Start { .. } => "started",
        Action::Keep { .. } => "unchanged",
    }
}

/// The project's network(s) and named volumes.
pub(super) async fn create_networks_and_volumes(
    ctx: &Context,
    docker: &Docker,
    scope: &EnvScope,
) -> anyhow::Result<()> {
    let target = scope.target();
    crate::lifecycle::external::check(docker, &target).await?;
    for network in plan::networks(&target) {
        if networks::ensure(docker, &network).await? {
            ctx.printer
                .emit(Event::debug(format!("created network {}", network.name)));
        }
    }
    for volume in plan::volumes(&target) {
        if volumes::ensure(docker, &volume).await? {
            ctx.printer
                .emit(Event::debug(format!("created volume {}", volume.name)));
        }
    }
    Ok(())
}

/// What applying a plan needs, shared by its steps.
struct Applier<'a> {
    ctx: &'a Context,
    env: &'a str,
    docker: &'a Docker,
    desired: &'a [Desired],
    deadline: Instant,
    timeout: Duration,
    /// Containers already created (not started), by service.
    precreated: HashMap<String, String>,
}

/// Whether `step`'s new container can be created before the containers it depends on: it
/// refers to none of them at creation (no links, no `volumes_from` of a service).
fn creatable_early(file: &compose::ComposeFile, step: &Step) -> bool {
    matches!(step.action, Action::Create)
        && file.services.get(&step.service).is_some_and(|service| {
            service.links.is_empty()
                && service.runtime.service_references().is_empty()
                && service
                    .volumes_from
                    .iter()
                    .all(|from| matches!(from.source, compose::VolumesFromSource::Container(_)))
        })
}

impl Applier<'_> {
    fn want(&self, service: &str) -> anyhow::Result<&Desired> {
        self.desired
            .iter()
            .find(|d| d.service == service)
            .ok_or_else(|| anyhow::anyhow!("no desired state for {service}"))
    }

    /// Create `step`'s container without starting it; the service and the container id.
    async fn create(&self, step: &Step) -> anyhow::Result<(String, String)> {
        let want = self.want(&step.service)?;
        let id = containers::create(self.docker, &want.spec)
            .await
            .map_err(|err| create_failed(want, &err))?;
        Ok((step.service.clone(), id))
    }

    /// Apply one step once what it waits for is ready; the service and its container id.
    async fn apply(
        &self,
        step: &Step,
        ids: &HashMap<String, String>,
    ) -> anyhow::Result<(String, String)> {
        let dependencies: Vec<Awaited> = step
            .waits_for
            .iter()
            .filter_map(|(service, condition)| {
                ids.get(service).map(|id| Awaited {
                    env: self.env.to_owned(),
                    service: service.clone(),
                    id: id.clone(),
                    goal: Goal::Condition(*condition),
                })
            })
            .collect();
        let (ctx, docker) = (self.ctx, self.docker);
        readiness::wait_all(
            docker,
            &ctx.printer,
            &dependencies,
            self.deadline,
            self.timeout,
        )
        .await?;
        let want = self.want(&step.service)?;
        let say = |what: &str| {
            ctx.printer.emit(Event::info(format!(
                "{}: {what} {}",
                step.service, want.spec.name
            )));
        };
        let id = match &step.action {
            Action::Keep { id } => id.clone(),
            Action::Start { id } => {
                say("starting");
                containers::start(docker, id).await?;
                id.clone()
            }
            Action::Create => {
                say("creating");
                let id = match self.precreated.get(&step.service) {
                    Some(id) => id.clone(),
                    None => containers::create(docker, &want.spec)
                        .await
                        .map_err(|err| create_failed(want, &err))?,
                };
                start_created(docker, want, &id).await?;
                id
            }
            Action::Recreate { id, reason } => {
                say(&format!("recreating ({reason})"));
                let grace = want.spec.host.stop_timeout.map_or(STOP_GRACE, |secs| {
                    Duration::from_secs(u64::try_from(secs).unwrap_or(0))
                });
                containers::stop(docker, id, grace).await?;
                containers::remove(docker, id).await?;
                let id = containers::create(docker, &want.spec)
                    .await
                    .map_err(|err| create_failed(want, &err))?;
                start_created(docker, want, &id).await?;
                id
            }
        };
        Ok((step.service.clone(), id))
    }
}

fn create_failed(want: &Desired, err: &crate::engine::EngineError) -> CommandError {
    CommandError::new(
        ExitStatus::Engine,
        format!(
            "Docker failed to create the container of `{}` ({}): {err}",
            want.service, want.spec.name
        ),
    )
}

async fn start_created(docker: &Docker, want: &Desired, id: &str) -> anyhow::Result<()> {
    containers::start(docker, id).await.map_err(|err| {
        CommandError::new(
            ExitStatus::Engine,
            format!(
                "Docker failed to run the container of `{}` ({}): {err}",
                want.service, want.spec.name
            ),
        )
        .into()
    })
}

/// What each service must reach before `start` reports success: up (and healthy where it has
/// a health check), or, for one-shot services others wait on to complete, exited 0.
pub(super) fn final_goals(scope: &EnvScope, ids: &HashMap<String, String>) -> Vec<Awaited> {
    scope
        .file
        .services
        .keys()
        .filter_map(|name| {
            let one_shot =
                scope.file.services.values().any(|s| {
                    s.depends_on.get(name) == Some(&Condition::ServiceCompletedSuccessfully)
                });
            ids.get(name).map(|id| Awaited {
                env: scope.env().to_owned(),
                service: name.clone(),
                id: id.clone(),
                goal: if one_shot {
                    Goal::Condition(Condition::ServiceCompletedSuccessfully)
                } else {
                    Goal::Up
                },
            })
        })
        .collect()
}

async fn handle_orphans(
    ctx: &Context,
    docker: &Docker,
    orphans: &[ContainerInfo],
    remove: bool,
) -> anyhow::Result<()> {
    if orphans.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = orphans.iter().map(|c| c.name.as_str()).collect();
    if remove {
        for orphan in orphans {
            ctx.printer.emit(Event::info(format!(
                "removing orphan container {}",
                orphan.name
            )));
            containers::remove(docker, &orphan.id).await?;
        }
    } else {
        ctx.printer.emit(Event::warning(format!(
            "orphan container(s) {}: their services are no longer in the compose file. \
             `--remove-orphans` removes them",
            names.join(", ")
        )));
    }
    Ok(())
}

/// `http://localhost:<port>` for every published TCP port, by service, in service order.
pub(super) fn published_urls(running: &[ContainerInfo]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for container in running {
        if container.label(crate::engine::labels::compose::ONEOFF) == "True" {
            continue;
        }
        let service = container.label(crate::engine::labels::compose::SERVICE);
        let mut ports: Vec<&(String, u16, u16, String)> = container
            .ports
            .iter()
            .filter(|(ip, _, _, proto)| proto == "tcp" && !ip.contains(':'))
            .collect();
        ports.sort_by_key(|p| p.1);
        ports.dedup_by_key(|p| p.1);
        for (ip, host_port, _, _) in ports {
            let host = if ip.is_empty() || ip == "0.0.0.0" {
                "localhost"
            } else {
                ip.as_str()
            };
            out.push((service.to_owned(), format!("http://{host}:{host_port}")));
        }
    }
    out
}

/// Open `url` with the desktop's opener, where there is one; never fatal.
fn open_browser(ctx: &Context, url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    match std::process::Command::new(opener)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Ok(_) => ctx.printer.emit(Event::info(format!("opened {url}"))),
        Err(err) => ctx.printer.emit(Event::warning(format!(
            "--open: cannot run `{opener}` ({err}); open {url} yourself"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::labels;

    fn container(service: &str, oneoff: &str, ports: Vec<(&str, u16, u16, &str)>) -> ContainerInfo {
        ContainerInfo {
            id: format!("id-{service}"),
            name: format!("p-{service}-1"),
            labels: HashMap::from([
                (labels::compose::SERVICE.to_owned(), service.to_owned()),
                (labels::compose::ONEOFF.to_owned(), oneoff.to_owned()),
            ]),
            state: "running".into(),
            status: String::new(),
            image: String::new(),
            image_id: String::new(),
            created: 0,
            ports: ports
                .into_iter()
                .map(|(ip, host, inner, proto)| (ip.to_owned(), host, inner, proto.to_owned()))
                .collect(),
        }
    }

    #[test]
    fn urls_of_published_tcp_ports_once_each() {
        let running = [
            container(
                "app",
                "False",
                vec![
                    ("0.0.0.0", 8080, 8080, "tcp"),
                    ("::", 8080, 8080, "tcp"),
                    ("127.0.0.1", 9000, 9000, "tcp"),
                    ("0.0.0.0", 5353, 53, "udp"),
                ],
            ),
            container("app", "True", vec![("0.0.0.0", 7000, 7000, "tcp")]),
        ];
        assert_eq!(
            published_urls(&running),
            vec![
                ("app".to_owned(), "http://localhost:8080".to_owned()),
                ("app".to_owned(), "http://127.0.0.1:9000".to_owned()),
            ]
        );
    }
}
