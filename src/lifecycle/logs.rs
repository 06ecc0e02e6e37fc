//! Following logs until Ctrl-C, which detaches: the containers keep running and the command
//! exits 0.

use bollard::Docker;
use futures_util::StreamExt;

use crate::engine::logs::{self, LogOptions, LogSource};
use crate::interrupt::SelfHandled;
use crate::output::Event;

/// How following ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Ctrl-C: detached.
    Detached,
    /// Every container stopped (or, without follow, the output was read).
    Finished,
}

/// Print the logs of `sources` as `log` events; with `options.follow`, until Ctrl-C.
pub async fn follow(
    docker: &Docker,
    sources: &[LogSource],
    options: LogOptions,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<Ended> {
    // Listen before reading, so a Ctrl-C that comes early still detaches.
    let _guard = SelfHandled::enter();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut lines = logs::lines(docker, sources, options);
    loop {
        tokio::select! {
            _ = &mut ctrl_c => return Ok(Ended::Detached),
            next = lines.next() => match next {
                Some(line) => {
                    let line = line?;
                    emit(Event::Log { service: line.service, line: line.line });
                }
                None => return Ok(Ended::Finished),
            },
        }
    }
}
