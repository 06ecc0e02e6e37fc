//! One command at a time per environment: a lock file held with `flock`.
//!
//! Five `start` at once used to create five `<project>_default` networks and leave the
//! environment ambiguous; `start`, `stop`, `down`, `image build`/`update`/`destroy` now take this
//! lock first. The kernel releases a `flock` when its holder exits, however it exits, so a crash
//! never leaves a stale lock; the file only records who holds it (pid, command, start time) so
//! that the next command can say what it is waiting for.
//!
//! The files live outside the project (the user's runtime directory) so that they never enter a
//! build context or a bundle.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustix::fs::{FlockOperation, flock};
use sha2::{Digest, Sha256};

use crate::exit::{Coded, ExitStatus};

/// How often a waiting command tries again (it also checks for Ctrl-C between tries).
const RETRY: Duration = Duration::from_millis(200);

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Held by another command and `--no-wait` was given.
    #[error(
        "environment {env} is busy: {holder}. Wait for it to finish, or run again without --no-wait to wait"
    )]
    Busy {
        /// The environment.
        env: String,
        /// Who holds it, as recorded in the lock file.
        holder: String,
    },
    /// The lock file could not be created or locked.
    #[error("cannot lock environment {env} with {}: {source}", path.display())]
    Io {
        /// The environment.
        env: String,
        /// The lock file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Ctrl-C while waiting.
    #[error("interrupted while waiting for environment {env}")]
    Interrupted {
        /// The environment.
        env: String,
    },
}

impl Coded for LockError {
    fn exit_status(&self) -> ExitStatus {
        match self {
            LockError::Busy { .. } => ExitStatus::Busy,
            LockError::Io { .. } => ExitStatus::Failure,
            LockError::Interrupted { .. } => ExitStatus::Interrupted,
        }
    }
}

/// A held environment lock; dropping it releases the lock.
#[derive(Debug)]
pub struct EnvLock {
    file: File,
    path: PathBuf,
}

impl EnvLock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for EnvLock {
    fn drop(&mut self) {
        // Clear the record before unlocking so a reader never sees a stale holder.
        let _ = self.file.set_len(0);
        let _ = flock(&self.file, FlockOperation::Unlock);
    }
}

/// The directory of lock files: `$XDG_RUNTIME_DIR/stevedore/locks`, else
/// `<tmp>/stevedore-<uid>/locks`.
pub fn lock_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("stevedore/locks");
    }
    // The owner of this process's /proc entry is its real uid (no extra dependency for getuid).
    let uid = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m).to_string())
        .unwrap_or_else(|_| std::env::var("USER").unwrap_or_else(|_| "user".into()));
    std::env::temp_dir()
        .join(format!("stevedore-{uid}"))
        .join("locks")
}

/// The lock file of `env` in the project at `root` (one per project and environment).
pub fn lock_path(root: &Path, env: &str) -> PathBuf {
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let digest = Sha256::digest(root.as_os_str().as_encoded_bytes());
    let safe_env: String = env
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    lock_dir().join(format!("{}-{safe_env}.lock", hex::encode(&digest[..8])))
}

/// Take the lock of `env` for `command`. When another command holds it: with `wait`, call
/// `waiting` once with the holder's description and wait (Ctrl-C stops the wait); without,
/// fail with [`LockError::Busy`] at once.
pub async fn acquire(
    root: &Path,
    env: &str,
    command: &str,
    wait: bool,
    waiting: impl FnOnce(&str),
) -> Result<EnvLock, LockError> {
    let path = lock_path(root, env);
    let io = |source| LockError::Io {
        env: env.to_owned(),
        path: path.clone(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    let mut waiting = Some(waiting);
    loop {
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => break,
            Err(rustix::io::Errno::WOULDBLOCK) => {
                let holder = holder(&mut file);
                if !wait {
                    return Err(LockError::Busy {
                        env: env.to_owned(),
                        holder,
                    });
                }
                if let Some(notify) = waiting.take() {
                    notify(&holder);
                }
                if crate::interrupt::check().is_err() {
                    return Err(LockError::Interrupted {
                        env: env.to_owned(),
                    });
                }
                tokio::time::sleep(RETRY).await;
            }
            Err(errno) => return Err(io(errno.into())),
        }
    }
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let record = format!(
        "pid={}\ncommand={command}\nstarted={started}\n",
        std::process::id()
    );
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    file.write_all(record.as_bytes()).map_err(io)?;
    Ok(EnvLock { file, path })
}

/// "held by pid 123 (`stevedore start`) for 12 s", from the record in the lock file. The
/// holder writes its record just after it takes the lock, so an empty file is read again for
/// a moment before the holder is called unknown.
fn holder(file: &mut File) -> String {
    let mut text = String::new();
    for _ in 0..25 {
        text.clear();
        let _ = file.rewind();
        let _ = file.read_to_string(&mut text);
        if text.contains("started=") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(str::to_owned)
    };
    match (field("pid"), field("command")) {
        (Some(pid), Some(command)) => {
            let age = field("started")
                .and_then(|s| s.parse::<u64>().ok())
                .and_then(|s| {
                    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
                    Some(format!(" for {} s", now.saturating_sub(s)))
                })
                .unwrap_or_default();
            format!("held by pid {pid} (`stevedore {command}`){age}")
        }
        _ => "held by another stevedore command".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn second_holder_is_refused_with_the_first_named_then_gets_it_after_release() {
        let dir = tempfile::tempdir().expect("tempdir");
        let env = format!("locktest-{}", std::process::id());
        let first = acquire(dir.path(), &env, "start", false, |_| {})
            .await
            .expect("first");
        let err = acquire(dir.path(), &env, "down", false, |_| {})
            .await
            .expect_err("second must be refused");
        let text = err.to_string();
        assert!(
            text.contains(&format!("environment {env} is busy")),
            "{text}"
        );
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        assert!(text.contains("`stevedore start`"), "{text}");
        assert_eq!(err.exit_status(), ExitStatus::Busy);
        drop(first);
        let again = acquire(dir.path(), &env, "down", false, |_| {})
            .await
            .expect("free after release");
        drop(again);
    }

    #[tokio::test]
    async fn a_waiting_command_is_told_who_holds_it_and_proceeds_when_released() {
        let dir = tempfile::tempdir().expect("tempdir");
        let env = format!("lockwait-{}", std::process::id());
        let first = acquire(dir.path(), &env, "stop", false, |_| {})
            .await
            .expect("first");
        let root = dir.path().to_path_buf();
        let env2 = env.clone();
        let waiter = tokio::spawn(async move {
            let mut told = String::new();
            let lock = acquire(&root, &env2, "start", true, |h| told = h.to_owned()).await;
            (lock.map(|_| ()), told)
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            !waiter.is_finished(),
            "the waiter must wait while the lock is held"
        );
        drop(first);
        let (result, told) = waiter.await.expect("join");
        result.expect("acquired after release");
        assert!(told.contains("`stevedore stop`"), "{told}");
    }
}
