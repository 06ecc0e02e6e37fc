//! Bringing an environment up ([`up`]): what `start` and `restart` do between loading the
//! compose file and following the logs. The plan comes from [`super::plan`]; this applies it
//! through the Engine: networks and volumes, then containers layer by layer (a layer in
//! parallel, later layers pre-created while the first starts), each after what it waits for.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::Docker;
use futures_util::future::try_join_all;

use super::bounded;
use super::images::ensure_images;
use super::plan::{self, Action, Current, Desired, Step};
use super::readiness::{self, Awaited};
use super::ready::Goal;
use super::scope::EnvScope;
use crate::compose::{self, Condition};
use crate::engine::containers::{self, ContainerInfo};
use crate::engine::logs::LogSource;
use crate::engine::{networks, volumes};
use crate::exit::{CommandError, ExitStatus};
use crate::output::Event;

/// Grace period for a container being replaced.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// How to bring the environment up.
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// Every container up and healthy within this.
    pub timeout: Duration,
    /// Rebuild the images even if they exist.
    pub build: bool,
    /// Recreate containers even if unchanged.
    pub force_recreate: bool,
    /// Remove containers of services no longer in the compose file.
    pub remove_orphans: bool,
    /// Wait for every container to be up and healthy before returning. Without it, as
    /// `docker compose up -d`, only the `depends_on` conditions met on the way were waited for.
    pub wait: bool,
}

/// What happened to one service.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Started {
    /// The service.
    pub service: String,
    /// Its container's name.
    pub container: Option<String>,
    /// Its container's id.
    pub id: Option<String>,
    /// `created`, `recreated`, `started` or `unchanged`.
    pub action: &'static str,
}

/// An environment that is up.
#[derive(Debug, Clone)]
pub struct Up {
    /// Each service, in start order.
    pub services: Vec<Started>,
    /// `http://host:port` per published TCP port, by service.
    pub urls: Vec<(String, String)>,
    /// Containers of services no longer in the compose file.
    pub orphans: Vec<String>,
    /// Where each service's logs come from.
    pub logs: Vec<LogSource>,
}

/// Bring `scope`'s environment up: build or pull what is missing, create the network,
/// volumes and containers in dependency order (a layer in parallel), wait (until `timeout`)
/// until every service is up and healthy. The caller holds the environment lock.
pub async fn up(
    docker: &Docker,
    scope: &EnvScope,
    options: &UpOptions,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<Up> {
    let timeout = options.timeout;
    let image_ids = ensure_images(docker, scope, options.build, None, emit).await?;
    let existing = containers::list(docker, &plan::project_selector(&scope.project)).await?;
    let desired = plan::desired(&scope.target());
    let layers = scope.file.startup_order()?;
    let plan = plan::plan(
        &desired,
        &layers,
        &scope.file,
        Current {
            containers: &existing,
            image_ids: &image_ids,
            force_recreate: options.force_recreate,
        },
    );
    handle_orphans(docker, &plan.orphans, options.remove_orphans, emit).await?;

    let deadline = Instant::now() + timeout;
    let mut ids: HashMap<String, String> = HashMap::new();
    // Bounded even when the Engine stops answering (see `lifecycle::bounded`).
    let bringing = bring_up(
        docker,
        scope,
        &plan,
        &desired,
        (deadline, timeout, options.wait),
        &mut ids,
        emit,
    );
    if let Ok(done) = bounded::within(deadline, bringing).await {
        done?;
    } else {
        let left = bounded::inventory(docker, &plan::project_selector(&scope.project)).await;
        let down = crate::hint::command(&["down", scope.env()]);
        let host = crate::engine::docker_host();
        return Err(bounded::timed_out("start", timeout, &host, left.as_ref(), &down).into());
    }
    let running = containers::list(docker, &plan::project_selector(&scope.project)).await?;
    let services = plan
        .steps()
        .map(|step| Started {
            service: step.service.clone(),
            container: desired
                .iter()
                .find(|d| d.service == step.service)
                .map(|d| d.spec.name.clone()),
            id: ids.get(&step.service).cloned(),
            action: action_name(&step.action),
        })
        .collect();
    let logs = desired
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
    Ok(Up {
        services,
        urls: published_urls(&running),
        orphans: plan.orphans.iter().map(|c| c.name.clone()).collect(),
        logs,
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

/// Create what the plan needs and start it, layer by layer, then (with `wait_all`) wait until
/// every service is up (and healthy where it has a check); the container ids land in `ids` as
/// they come.
async fn bring_up(
    docker: &Docker,
    scope: &EnvScope,
    plan: &plan::Plan,
    desired: &[Desired],
    // The deadline, the timeout it came from, and whether to wait for every container at the end.
    (deadline, timeout, wait_all): (Instant, Duration, bool),
    ids: &mut HashMap<String, String>,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<()> {
    if plan.is_noop() {
        emit(Event::info(format!(
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
        emit(Event::step(format!(
            "Starting environment {} (project {})",
            scope.env(),
            scope.project
        )));
        create_networks_and_volumes(docker, scope, emit).await?;
        let mut applier = Applier {
            emit,
            env: scope.env(),
            docker,
            desired,
            deadline,
            timeout,
            precreated: HashMap::new(),
        };
        for (index, layer) in plan.layers.iter().enumerate() {
            let layer_done = try_join_all(layer.iter().map(|step| applier.apply(step, ids)));
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

    if wait_all {
        let awaited = final_goals(scope, ids);
        readiness::wait_all(docker, &awaited, deadline, timeout, emit).await?;
    }
    Ok(())
}

/// The project's network(s) and named volumes.
pub async fn create_networks_and_volumes(
    docker: &Docker,
    scope: &EnvScope,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<()> {
    let target = scope.target();
    super::external::check(docker, &target).await?;
    for network in plan::networks(&target) {
        if networks::ensure(docker, &network).await? {
            emit(Event::debug(format!("created network {}", network.name)));
        }
    }
    for volume in plan::volumes(&target) {
        if volumes::ensure(docker, &volume).await? {
            emit(Event::debug(format!("created volume {}", volume.name)));
        }
    }
    Ok(())
}

/// What applying a plan needs, shared by its steps.
struct Applier<'a> {
    emit: &'a (dyn Fn(Event) + Sync),
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
        let (emit, docker) = (self.emit, self.docker);
        readiness::wait_all(docker, &dependencies, self.deadline, self.timeout, emit).await?;
        let want = self.want(&step.service)?;
        let say = |what: &str| {
            emit(Event::info(format!(
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
pub fn final_goals(scope: &EnvScope, ids: &HashMap<String, String>) -> Vec<Awaited> {
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
    docker: &Docker,
    orphans: &[ContainerInfo],
    remove: bool,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<()> {
    if orphans.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = orphans.iter().map(|c| c.name.as_str()).collect();
    if remove {
        for orphan in orphans {
            emit(Event::info(format!(
                "removing orphan container {}",
                orphan.name
            )));
            containers::remove(docker, &orphan.id).await?;
        }
    } else {
        emit(Event::warning(format!(
            "orphan container(s) {}: their services are no longer in the compose file. \
             `--remove-orphans` removes them",
            names.join(", ")
        )));
    }
    Ok(())
}

/// `http://localhost:<port>` for every published TCP port, by service, in service order.
pub fn published_urls(running: &[ContainerInfo]) -> Vec<(String, String)> {
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
