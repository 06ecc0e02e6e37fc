//! The deploy lock of an Elastic Beanstalk target ([`crate::aws::deploy_lock`]): where it
//! lives (the project's bucket) and [`with_lock`], which runs a change under it and gives it
//! back however the change ends.

use std::future::Future;
use std::path::Path;
use std::time::Instant;

use super::EbTarget;
use crate::aws::AwsError;
use crate::aws::deploy_lock::{self, GRACE, Identity, LockTarget, Request};
use crate::output::Event;

/// The lock of `scope`'s environment: in `[aws] s3_bucket`, else Elastic Beanstalk's storage
/// bucket.
pub async fn location(scope: &EbTarget) -> Result<LockTarget, AwsError> {
    deploy_lock::locate(
        &scope.clients,
        scope.bucket.as_deref(),
        &scope.application,
        &scope.eb_environment,
        &scope.env_name,
    )
    .await
}

/// What a change takes the lock for.
#[derive(Debug, Clone, Copy)]
pub struct LockFor<'a> {
    /// `deploy`, `rollback`, …
    pub command: &'a str,
    /// The version it deploys.
    pub version: Option<&'a str>,
    /// The commit it deploys.
    pub commit: Option<&'a str>,
    /// The project root (git's user names the holder).
    pub root: &'a Path,
    /// Wait for a held lock (until `deadline`) rather than fail with exit 10 at once.
    pub wait: bool,
    /// The change's own deadline; the lock expires [`GRACE`] after it.
    pub deadline: Instant,
}

/// Take `scope`'s deploy lock for `what`, run `work`, give the lock back (also when `work`
/// fails; when the whole future is dropped, e.g. on Ctrl-C, the lock's own `Drop` does it).
pub async fn with_lock<T>(
    scope: &EbTarget,
    what: &LockFor<'_>,
    emit: &(dyn Fn(Event) + Sync),
    work: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let target = location(scope).await?;
    let request = Request {
        identity: Identity::current(deploy_lock::actor(what.root)),
        command: what.command.to_owned(),
        message: None,
        commit: what.commit.map(str::to_owned),
        version: what.version.map(str::to_owned),
        ttl: what.deadline.saturating_duration_since(Instant::now()) + GRACE,
        wait: what.wait,
        deadline: what.deadline,
    };
    let lock = deploy_lock::acquire(&target, &request, emit).await?;
    emit(Event::debug(format!(
        "took the deploy lock s3://{}/{}",
        target.bucket, target.key
    )));
    let outcome = work.await;
    let expires = lock.holder().expires_at.clone();
    if let Err(err) = lock.release().await {
        emit(Event::warning(format!(
            "could not release the deploy lock of {} ({err}); it expires at {expires}, or run \
             `stevedore lock release {}`",
            scope.env_name, scope.env_name
        )));
    }
    outcome
}
