//! The deploy lock: one object per environment in the project's S3 bucket, so that two machines
//! (two laptops, two CI jobs) never change one environment at once.
//!
//! Taking the lock is a `PutObject` with `If-None-Match: *`: S3 lets exactly one writer create
//! the object and answers every other `412 Precondition Failed`. The object records who holds
//! it (user, host, CI job URL), for what (command, message, commit, version), since when and
//! until when. A lock past its expiry (its holder was killed, or lost its network) is broken by
//! overwriting it with `If-Match: <its ETag>`, so two breakers cannot both win either.
//! Releasing deletes the object with `If-Match` of the ETag we wrote: a lock someone else took
//! over is never deleted by its former holder.
//!
//! [`DeployLock`] releases on every path: [`DeployLock::release`] when the command ends, and its
//! `Drop` when the command's future is dropped (Ctrl-C) or returns early with an error.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use serde::{Deserialize, Serialize};

use super::error::AwsError;
use crate::exit::{Coded, ExitStatus};
use crate::output::Event;

/// Where an environment's lock lives.
#[derive(Debug, Clone)]
pub struct LockTarget {
    /// The S3 client.
    pub s3: Client,
    /// The project's bucket.
    pub bucket: String,
    /// The object key ([`key_of`]).
    pub key: String,
    /// The environment, for messages.
    pub environment: String,
}

/// The key of an environment's lock: `.stevedore/locks/<application>/<eb-environment>.json`
/// (outside the application's bundle prefix, so bundle listings never see it).
pub fn key_of(application: &str, eb_environment: &str) -> String {
    format!(".stevedore/locks/{application}/{eb_environment}.json")
}

/// The lock of `eb_environment` (`environment` in messages) in `bucket`, else in Elastic
/// Beanstalk's storage bucket (`CreateStorageLocation`, idempotent), the one bundles go to.
pub async fn locate(
    clients: &super::sdk::Clients,
    bucket: Option<&str>,
    application: &str,
    eb_environment: &str,
    environment: &str,
) -> Result<LockTarget, AwsError> {
    let bucket = match bucket {
        Some(bucket) => bucket.to_owned(),
        None => super::versions::storage_bucket(&clients.eb).await?,
    };
    Ok(LockTarget {
        s3: clients.s3.clone(),
        bucket,
        key: key_of(application, eb_environment),
        environment: environment.to_owned(),
    })
}

/// How long a deploy's lock holds past the deploy's own time budget before others may break
/// it (its holder was killed, or lost its network).
pub const GRACE: Duration = Duration::from_secs(10 * 60);

/// What the lock object records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// A random id of this holding (release deletes only its own).
    pub id: String,
    /// Who: `STEVEDORE_ACTOR`, the CI's actor, git's user, or the login name.
    pub user: String,
    /// The machine.
    pub host: String,
    /// The CI job, when running in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_job_url: Option<String>,
    /// The command, e.g. `deploy`.
    pub command: String,
    /// Why (`lock acquire -m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The commit being deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The version being deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// When it was taken (RFC 3339, UTC).
    pub acquired_at: String,
    /// When it expires (RFC 3339, UTC).
    pub expires_at: String,
    /// `acquired_at` in ms since the epoch.
    pub acquired_ms: i64,
    /// `expires_at` in ms since the epoch.
    pub expires_ms: i64,
}

impl Holder {
    /// Whether the lock has expired at `now_ms`.
    pub fn expired(&self, now_ms: i64) -> bool {
        now_ms >= self.expires_ms
    }

    /// One line for messages: `grace@build-7 (deploy 1.2.0, CI …) since …, expires …`.
    pub fn describe(&self) -> String {
        let mut what = self.command.clone();
        if let Some(version) = &self.version {
            what.push(' ');
            what.push_str(version);
        }
        if let Some(message) = &self.message {
            what.push_str(&format!(": \"{message}\""));
        }
        let mut text = format!("{}@{} ({what})", self.user, self.host);
        if let Some(url) = &self.ci_job_url {
            text.push_str(&format!(" [{url}]"));
        }
        text.push_str(&format!(
            " since {}, expires {}",
            self.acquired_at, self.expires_at
        ));
        text
    }

    /// Whether `self` was taken by the same user on the same machine as `other`.
    pub fn same_owner(&self, other: &Identity) -> bool {
        self.user == other.user && self.host == other.host
    }
}

/// Who is asking for the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user.
    pub user: String,
    /// The machine.
    pub host: String,
    /// The CI job URL, when in CI.
    pub ci_job_url: Option<String>,
}

impl Identity {
    /// This process's identity: `user` as given (see [`actor`]), the host name, the CI job.
    pub fn current(user: String) -> Identity {
        Identity {
            user,
            host: host_name(),
            ci_job_url: ci_job_url(&|name| std::env::var(name).ok()),
        }
    }
}

/// Who is acting: `STEVEDORE_ACTOR` or the CI's actor, else git's user (in `root`), else the
/// login name.
pub fn actor(root: &std::path::Path) -> String {
    let variable = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let from_ci = ["STEVEDORE_ACTOR", "GITHUB_ACTOR", "GITLAB_USER_LOGIN"]
        .into_iter()
        .find_map(variable);
    let from_git = || {
        let git = crate::git::Git::new(root);
        ["user.email", "user.name"].into_iter().find_map(|key| {
            git.run(&["config", key])
                .ok()
                .filter(|v| !v.trim().is_empty())
        })
    };
    from_ci
        .or_else(from_git)
        .or_else(|| variable("USER"))
        .unwrap_or_else(|| "unknown".into())
}

/// The machine's name (`/proc/sys/kernel/hostname`, else `HOSTNAME`).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| "unknown-host".into())
}

/// The URL of the CI job this runs in: GitHub Actions, GitLab, Jenkins, CircleCI, Buildkite.
pub fn ci_job_url(var: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let get = |name: &str| var(name).filter(|v| !v.trim().is_empty());
    if let (Some(server), Some(repo), Some(run)) = (
        get("GITHUB_SERVER_URL"),
        get("GITHUB_REPOSITORY"),
        get("GITHUB_RUN_ID"),
    ) {
        return Some(format!("{server}/{repo}/actions/runs/{run}"));
    }
    [
        "CI_JOB_URL",
        "BUILD_URL",
        "CIRCLE_BUILD_URL",
        "BUILDKITE_BUILD_URL",
    ]
    .into_iter()
    .find_map(get)
}

/// What the lock is taken for.
#[derive(Debug, Clone)]
pub struct Request {
    /// Who.
    pub identity: Identity,
    /// The command, e.g. `deploy`.
    pub command: String,
    /// Why (`lock acquire -m`).
    pub message: Option<String>,
    /// The commit being deployed.
    pub commit: Option<String>,
    /// The version being deployed.
    pub version: Option<String>,
    /// How long the lock holds before others may break it.
    pub ttl: Duration,
    /// Wait for a held lock (until `deadline`) instead of failing at once.
    pub wait: bool,
    /// When to give up waiting.
    pub deadline: Instant,
}

/// The lock's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockState {
    /// Nobody holds it.
    Free,
    /// Held.
    Held {
        /// By whom.
        holder: Box<Holder>,
        /// The object's ETag.
        etag: Option<String>,
    },
}

/// Why the lock was not taken or released.
#[derive(Debug, thiserror::Error)]
pub enum DeployLockError {
    /// Another run holds the lock (`--no-wait`, or still held at the deadline).
    #[error(
        "environment {environment} is locked by {holder}; {}",
        if *waited { "gave up waiting. Try again later, or check with `stevedore lock status <env>`" } else { "wait for it (run without --no-wait) or check with `stevedore lock status <env>`" }
    )]
    Busy {
        /// The environment.
        environment: String,
        /// The holder, described.
        holder: String,
        /// Whether we waited before giving up.
        waited: bool,
    },
    /// `lock release` of a lock someone else holds.
    #[error(
        "environment {environment} is locked by {holder}, not by you; `stevedore lock release <env> --force` releases it anyway"
    )]
    NotYours {
        /// The environment.
        environment: String,
        /// The holder, described.
        holder: String,
    },
    /// The lock object is not ours to read (not JSON written by stevedore).
    #[error(
        "s3://{bucket}/{key} is not a stevedore lock ({detail}); remove it or release with --force"
    )]
    Unreadable {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// What was wrong.
        detail: String,
    },
    /// S3 failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
}

impl Coded for DeployLockError {
    fn exit_status(&self) -> ExitStatus {
        match self {
            DeployLockError::Busy { .. } | DeployLockError::NotYours { .. } => ExitStatus::Busy,
            DeployLockError::Unreadable { .. } => ExitStatus::InvalidInput,
            DeployLockError::Aws(err) => err.exit_status(),
        }
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// RFC 3339 (UTC, seconds) of `ms` since the epoch.
pub fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

/// Read the lock.
pub async fn status(target: &LockTarget) -> Result<LockState, DeployLockError> {
    let out = match target
        .s3
        .get_object()
        .bucket(&target.bucket)
        .key(&target.key)
        .send()
        .await
    {
        Ok(out) => out,
        Err(err) => {
            if err
                .as_service_error()
                .is_some_and(aws_sdk_s3::operation::get_object::GetObjectError::is_no_such_key)
                || http_status(&err) == Some(404)
            {
                return Ok(LockState::Free);
            }
            return Err(AwsError::from_sdk("GetObject", err).into());
        }
    };
    let etag = out.e_tag().map(str::to_owned);
    let body = out
        .body
        .collect()
        .await
        .map_err(|e| AwsError::Unreachable {
            operation: "GetObject",
            detail: e.to_string(),
        })?
        .into_bytes();
    let holder: Holder =
        serde_json::from_slice(&body).map_err(|e| DeployLockError::Unreadable {
            bucket: target.bucket.clone(),
            key: target.key.clone(),
            detail: e.to_string(),
        })?;
    Ok(LockState::Held {
        holder: Box::new(holder),
        etag,
    })
}

/// The HTTP status of a failed request, when it got an answer.
fn http_status<E>(err: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

/// How a conditional write ended.
enum Put {
    /// Written; the new ETag.
    Written(Option<String>),
    /// The condition failed (someone else wrote first).
    Lost,
}

/// Write `holder` as the lock: create it (`If-None-Match: *`) or, with `replacing`, overwrite
/// exactly that version (`If-Match`).
async fn put(
    target: &LockTarget,
    holder: &Holder,
    replacing: Option<&str>,
) -> Result<Put, DeployLockError> {
    let body = serde_json::to_vec_pretty(holder).unwrap_or_default();
    let mut request = target
        .s3
        .put_object()
        .bucket(&target.bucket)
        .key(&target.key)
        .content_type("application/json")
        .body(ByteStream::from(body));
    request = match replacing {
        Some(etag) => request.if_match(etag),
        None => request.if_none_match("*"),
    };
    match request.send().await {
        Ok(out) => Ok(Put::Written(out.e_tag().map(str::to_owned))),
        Err(err) => {
            let code = err.code().unwrap_or_default().to_owned();
            let status = http_status(&err);
            // 412: another writer won; 409: a conditional write raced ours (S3 asks to retry).
            if code == "PreconditionFailed"
                || code == "ConditionalRequestConflict"
                || status == Some(412)
                || status == Some(409)
            {
                Ok(Put::Lost)
            } else {
                Err(AwsError::from_sdk("PutObject", err).into())
            }
        }
    }
}

/// A held lock. [`DeployLock::release`] gives it back; dropping it unreleased (Ctrl-C, an
/// early error) gives it back too, blocking for at most a few seconds.
#[derive(Debug)]
pub struct DeployLock {
    target: LockTarget,
    holder: Holder,
    etag: Option<String>,
    released: bool,
}

impl DeployLock {
    /// Who holds it (us).
    pub fn holder(&self) -> &Holder {
        &self.holder
    }

    /// Give the lock back.
    pub async fn release(mut self) -> Result<(), DeployLockError> {
        // Marked released only once done: if this future is dropped half-way (a second
        // Ctrl-C), `Drop` still gives the lock back.
        let outcome = delete_own(&self.target, &self.holder, self.etag.as_deref()).await;
        self.released = true;
        outcome
    }

    /// Keep the lock after this process ends (`lock acquire`): it stays until released or
    /// expired.
    pub fn keep(mut self) -> Holder {
        self.released = true;
        self.holder.clone()
    }
}

impl Drop for DeployLock {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        // The async runtime may be winding down this very future: release on a thread of our
        // own, with its own small runtime, and wait for it (bounded).
        let mut target = self.target.clone();
        // A client of its own (its own connection pool): pooled connections of this client
        // belong to the runtime that may be going away.
        target.s3 = Client::from_conf(
            target
                .s3
                .config()
                .to_builder()
                .http_client(super::sdk::http_client())
                .build(),
        );
        let holder = self.holder.clone();
        let etag = self.etag.clone();
        let worker = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                let _ = tokio::time::timeout(
                    Duration::from_secs(10),
                    delete_own(&target, &holder, etag.as_deref()),
                )
                .await;
            });
        });
        let _ = worker.join();
    }
}

/// Delete the lock if it is still `holder`'s.
async fn delete_own(
    target: &LockTarget,
    holder: &Holder,
    etag: Option<&str>,
) -> Result<(), DeployLockError> {
    // Someone may have broken our (expired) lock and hold it now: then it is not ours to delete.
    let current_etag = match status(target).await? {
        LockState::Held {
            holder: current,
            etag: current_etag,
        } if current.id == holder.id => current_etag,
        _ => return Ok(()),
    };
    delete(target, current_etag.as_deref().or(etag)).await
}

/// Delete the lock object, only if it still has `etag` when given.
async fn delete(target: &LockTarget, etag: Option<&str>) -> Result<(), DeployLockError> {
    let mut request = target
        .s3
        .delete_object()
        .bucket(&target.bucket)
        .key(&target.key);
    if let Some(etag) = etag {
        request = request.if_match(etag);
    }
    match request.send().await {
        Ok(_) => Ok(()),
        // Changed or gone since we read it: not ours any more.
        Err(err) if matches!(http_status(&err), Some(412) | Some(404)) => Ok(()),
        // A store without conditional deletes (S3-compatible ones): we read the lock as ours a
        // moment ago, so delete it plainly.
        Err(err) if etag.is_some() && http_status(&err) == Some(501) => {
            Box::pin(delete(target, None)).await
        }
        Err(err) => Err(AwsError::from_sdk("DeleteObject", err).into()),
    }
}

/// Take the lock. When it is held: without `request.wait`, fail with
/// [`DeployLockError::Busy`] at once; with it, say so once through `emit` and try again (at
/// the pace of [`super::pace`]) until `request.deadline`. A lock past its expiry is broken,
/// with a warning.
pub async fn acquire(
    target: &LockTarget,
    request: &Request,
    emit: &dyn Fn(Event),
) -> Result<DeployLock, DeployLockError> {
    let started = Instant::now();
    let mut told: Option<String> = None;
    loop {
        let now = now_ms();
        let ttl_ms = i64::try_from(request.ttl.as_millis()).unwrap_or(i64::MAX / 2);
        let holder = Holder {
            id: uuid::Uuid::new_v4().to_string(),
            user: request.identity.user.clone(),
            host: request.identity.host.clone(),
            ci_job_url: request.identity.ci_job_url.clone(),
            command: request.command.clone(),
            message: request.message.clone(),
            commit: request.commit.clone(),
            version: request.version.clone(),
            acquired_at: rfc3339(now),
            expires_at: rfc3339(now.saturating_add(ttl_ms)),
            acquired_ms: now,
            expires_ms: now.saturating_add(ttl_ms),
        };
        if let Put::Written(etag) = put(target, &holder, None).await? {
            return Ok(DeployLock {
                target: target.clone(),
                holder,
                etag,
                released: false,
            });
        }
        match status(target).await? {
            // Released between our put and our read: try again at once.
            LockState::Free => continue,
            LockState::Held {
                holder: current,
                etag,
            } if current.expired(now_ms()) => {
                emit(Event::warning(format!(
                    "breaking the expired deploy lock of {}: {}",
                    target.environment,
                    current.describe()
                )));
                let written = match etag.as_deref() {
                    Some(etag) => put(target, &holder, Some(etag)).await?,
                    // No ETag to condition on: delete, then race for it like everyone else.
                    None => {
                        delete(target, None).await?;
                        Put::Lost
                    }
                };
                if let Put::Written(new_etag) = written {
                    return Ok(DeployLock {
                        target: target.clone(),
                        holder,
                        etag: new_etag,
                        released: false,
                    });
                }
                // Someone else broke it first: go round again.
                continue;
            }
            LockState::Held {
                holder: current, ..
            } => {
                let described = current.describe();
                if !request.wait || Instant::now() >= request.deadline {
                    return Err(DeployLockError::Busy {
                        environment: target.environment.clone(),
                        holder: described,
                        waited: told.is_some(),
                    });
                }
                if told.as_deref() != Some(current.id.as_str()) {
                    emit(Event::info(format!(
                        "waiting for the deploy lock of {}: held by {described} (--no-wait fails \
                         instead)",
                        target.environment
                    )));
                    told = Some(current.id.clone());
                }
            }
        }
        let pause = super::pace::poll_interval(started.elapsed());
        let left = request.deadline.saturating_duration_since(Instant::now());
        tokio::time::sleep(pause.min(left.max(Duration::from_millis(100)))).await;
    }
}

/// Release the lock: ours (same user and host) always; anyone's with `force`. Returns the
/// holder that was released, `None` when it was free.
pub async fn release(
    target: &LockTarget,
    me: &Identity,
    force: bool,
    emit: &dyn Fn(Event),
) -> Result<Option<Holder>, DeployLockError> {
    let (holder, etag) = match status(target).await {
        Ok(LockState::Free) => return Ok(None),
        Ok(LockState::Held { holder, etag }) => (*holder, etag),
        Err(DeployLockError::Unreadable { .. }) if force => {
            delete(target, None).await?;
            return Ok(None);
        }
        Err(err) => return Err(err),
    };
    if !holder.same_owner(me) && !force {
        return Err(DeployLockError::NotYours {
            environment: target.environment.clone(),
            holder: holder.describe(),
        });
    }
    if !holder.same_owner(me) {
        emit(Event::warning(format!(
            "releasing the deploy lock of {} held by {}",
            target.environment,
            holder.describe()
        )));
    }
    delete(target, etag.as_deref()).await?;
    Ok(Some(holder))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder() -> Holder {
        Holder {
            id: "x".into(),
            user: "grace".into(),
            host: "build-7".into(),
            ci_job_url: Some("https://ci.example/jobs/9".into()),
            command: "deploy".into(),
            message: None,
            commit: Some("abc123".into()),
            version: Some("1.2.0".into()),
            acquired_at: rfc3339(0),
            expires_at: rfc3339(60_000),
            acquired_ms: 0,
            expires_ms: 60_000,
        }
    }

    #[test]
    fn a_holder_round_trips_and_reads_as_one_line() {
        let h = holder();
        let json = serde_json::to_string(&h).expect("json");
        assert_eq!(serde_json::from_str::<Holder>(&json).expect("parse"), h);
        let text = h.describe();
        assert_eq!(
            text,
            "grace@build-7 (deploy 1.2.0) [https://ci.example/jobs/9] since \
             1970-01-01T00:00:00Z, expires 1970-01-01T00:01:00Z"
        );
        assert!(!h.expired(59_999));
        assert!(h.expired(60_000));
    }

    #[test]
    fn ci_job_urls() {
        type Vars<'a> = &'a [(&'a str, &'a str)];
        let table: &[(Vars<'_>, Option<&str>)] = &[
            (&[], None),
            (
                &[
                    ("GITHUB_SERVER_URL", "https://github.com"),
                    ("GITHUB_REPOSITORY", "acme/app"),
                    ("GITHUB_RUN_ID", "42"),
                ],
                Some("https://github.com/acme/app/actions/runs/42"),
            ),
            (
                &[("CI_JOB_URL", "https://gitlab.example/acme/app/-/jobs/7")],
                Some("https://gitlab.example/acme/app/-/jobs/7"),
            ),
            (
                &[("BUILD_URL", "https://jenkins.example/job/app/3/")],
                Some("https://jenkins.example/job/app/3/"),
            ),
            (&[("GITHUB_RUN_ID", "42")], None),
        ];
        for (vars, want) in table {
            let lookup = |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            };
            assert_eq!(ci_job_url(&lookup).as_deref(), *want, "{vars:?}");
        }
    }

    #[test]
    fn keys_are_per_application_and_environment() {
        assert_eq!(
            key_of("shop", "shop-prod"),
            ".stevedore/locks/shop/shop-prod.json"
        );
    }
}
