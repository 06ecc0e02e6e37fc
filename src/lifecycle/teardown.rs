//! Taking an environment's containers down in dependency order without layer barriers: each
//! container is stopped as soon as every container that depends on it has stopped, and removed
//! as soon as it has stopped, all concurrently. Compose stops dependents first too; waiting for a
//! whole layer (or removing one container after another) only adds the slowest member's grace
//! period and one round trip per container to every `down`.

use std::collections::HashSet;
use std::time::Duration;

use bollard::Docker;
use futures_util::future::join_all;
use tokio::sync::watch;

use crate::compose::ComposeFile;
use crate::compose::dependencies;
use crate::engine::containers::{self, ContainerInfo};
use crate::engine::{EngineError, labels};
use crate::output::Event;

/// What to do with each container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Teardown {
    /// Stop it (`stop`).
    Stop,
    /// Stop it, then remove it with its anonymous volumes (`down`).
    StopAndRemove,
}

/// How long a container gets to stop when nothing says otherwise (Compose's default).
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// The time a container of `service` gets to stop before it is killed: `-t` when given (as in
/// Compose, it overrides), else the service's own `stop_grace_period`, else [`DEFAULT_GRACE`].
pub fn grace_of(file: &ComposeFile, service: &str, given: Option<Duration>) -> Duration {
    given
        .or_else(|| {
            file.services
                .get(service)
                .and_then(|s| s.runtime.stop_grace_period)
        })
        .unwrap_or(DEFAULT_GRACE)
}

/// Stop (and remove) `doomed`, each after the containers of the services that depend on its
/// own have stopped. Returns the names of the containers that were running and stopped.
/// Every container is handled even when another fails; the first error is returned.
pub async fn run(
    docker: &Docker,
    file: &ComposeFile,
    doomed: &[ContainerInfo],
    grace: Option<Duration>,
    mode: Teardown,
    emit: &(dyn Fn(Event) + Sync),
) -> Result<Vec<String>, EngineError> {
    let service_of = |c: &ContainerInfo| c.label(labels::compose::SERVICE).to_owned();
    // One "stopped" flag per container; a container waits for the flags of its dependents.
    let flags: Vec<(watch::Sender<bool>, watch::Receiver<bool>)> =
        doomed.iter().map(|_| watch::channel(false)).collect();
    // How many containers have been told to stop. Removals wait until all have: removing while
    // the daemon is still killing and reaping the first containers slows those stops, and so
    // everything that waits for them; once the last stops are issued, removals overlap their
    // grace periods instead.
    let (issued, all_issued) = watch::channel(0usize);
    let (issued, total) = (&issued, doomed.len());
    let tasks = doomed.iter().enumerate().map(|(index, container)| {
        let service = service_of(container);
        let grace = grace_of(file, &service, grace);
        let dependents: Vec<watch::Receiver<bool>> = doomed
            .iter()
            .enumerate()
            .filter(|(other, c)| *other != index && depends_on(file, &service_of(c), &service))
            .map(|(other, _)| flags[other].1.clone())
            .collect();
        let done = &flags[index].0;
        let mut all_issued = all_issued.clone();
        async move {
            for mut dependent in dependents {
                // A dropped sender means that task ended (it always sets the flag first).
                let _ = dependent.wait_for(|stopped| *stopped).await;
            }
            let was_running = container.is_running();
            issued.send_modify(|count| *count += 1);
            let stopped = if was_running {
                emit(Event::info(format!("stopping {}", container.name)));
                containers::stop(docker, &container.id, grace).await
            } else {
                Ok(())
            };
            // Dependencies go on even when this stop failed: a failure is reported, not a hang.
            let _ = done.send(true);
            stopped?;
            if mode == Teardown::StopAndRemove {
                let _ = all_issued.wait_for(|count| *count == total).await;
                emit(Event::info(format!("removing {}", container.name)));
                containers::remove(docker, &container.id).await?;
            }
            Ok::<bool, EngineError>(was_running)
        }
    });
    let outcomes = join_all(tasks).await;
    let mut stopped = Vec::new();
    let mut first_error = None;
    for (container, outcome) in doomed.iter().zip(outcomes) {
        match outcome {
            Ok(true) => stopped.push(container.name.clone()),
            Ok(false) => {}
            Err(err) => {
                first_error.get_or_insert(err);
            }
        }
    }
    match first_error {
        Some(err) => Err(err),
        None => Ok(stopped),
    }
}

/// Whether `service` needs `dependency`, directly or through other services of `file`.
/// Services no longer in the file (orphans) need nothing.
fn depends_on(file: &ComposeFile, service: &str, dependency: &str) -> bool {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut pending: Vec<&str> = vec![service];
    while let Some(name) = pending.pop() {
        let Some(definition) = file.services.get(name) else {
            continue;
        };
        for needed in dependencies(definition) {
            if needed == dependency {
                return true;
            }
            if seen.insert(needed) {
                pending.push(needed);
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(yaml: &str) -> ComposeFile {
        let none = |_: &str| None;
        crate::compose::parse(yaml, std::path::Path::new("/p/compose.yml"), &none)
            .expect("valid compose file")
    }

    #[test]
    fn dependents_are_found_through_chains_and_orphans_need_nothing() {
        let f = file(
            "services:\n  db: {image: x}\n  app: {image: x, depends_on: [db]}\n  \
             proxy: {image: x, links: [app]}\n  solo: {image: x}\n",
        );
        assert!(depends_on(&f, "app", "db"));
        assert!(depends_on(&f, "proxy", "db"));
        assert!(depends_on(&f, "proxy", "app"));
        assert!(!depends_on(&f, "db", "app"));
        assert!(!depends_on(&f, "solo", "db"));
        assert!(!depends_on(&f, "gone", "db"));
    }
}
