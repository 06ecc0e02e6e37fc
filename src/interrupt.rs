//! Ctrl-C that never leaves half-done work behind.
//!
//! By default Ctrl-C ends the command at once (nothing is half-done in reads and builds). A
//! command with steps that must be undone (release, publish) enters a [`Critical`] section:
//! Ctrl-C then only raises a flag, the command notices it between steps with [`check`], undoes
//! what it did and exits 130. A second Ctrl-C forces the exit. A command that gives Ctrl-C a
//! meaning of its own (`start` detaches from the logs and exits 0) holds a [`SelfHandled`]
//! guard while it listens, so the default handler stands aside.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::exit::{CommandError, ExitStatus};

static CRITICAL: AtomicUsize = AtomicUsize::new(0);
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static SELF_HANDLED: AtomicUsize = AtomicUsize::new(0);

/// While alive, Ctrl-C is the command's own business: the default handler ignores it.
#[must_use = "the command handles Ctrl-C only while this guard lives"]
pub struct SelfHandled(());

impl SelfHandled {
    /// Tell the default handler to stand aside.
    pub fn enter() -> SelfHandled {
        SELF_HANDLED.fetch_add(1, Ordering::SeqCst);
        SelfHandled(())
    }
}

impl Drop for SelfHandled {
    fn drop(&mut self) {
        SELF_HANDLED.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Whether the running command handles Ctrl-C itself.
pub fn handled_by_command() -> bool {
    SELF_HANDLED.load(Ordering::SeqCst) > 0
}

/// While alive, Ctrl-C is deferred to the command's next [`check`].
#[must_use = "the section ends when this guard is dropped"]
pub struct Critical(());

impl Critical {
    /// Enter a critical section.
    pub fn enter() -> Critical {
        CRITICAL.fetch_add(1, Ordering::SeqCst);
        Critical(())
    }
}

impl Drop for Critical {
    fn drop(&mut self) {
        CRITICAL.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Whether a critical section is running (the signal handler then defers).
pub fn in_critical_section() -> bool {
    CRITICAL.load(Ordering::SeqCst) > 0
}

/// Record a deferred Ctrl-C.
pub fn defer_interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Fail with exit 130 if Ctrl-C was pressed during a critical section.
pub fn check() -> Result<(), CommandError> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        Err(CommandError::new(
            ExitStatus::Interrupted,
            "interrupted by Ctrl-C",
        ))
    } else {
        Ok(())
    }
}
