//! Fault injection for the kill tests, named as such and armed only in the tests' own build:
//! `xtask-faults`, a binary of the end-to-end crate that calls [`arm`] and then runs the same
//! CLI. The shipped `cargo xtask` ignores the hook variables and says so, so a stray one in CI
//! cannot kill a production deploy. `BGD_FAULT_KILL_AT=PHASE` SIGKILLs this process as that phase
//! starts, `PHASE:end` once its work has returned successfully (before the next phase). SIGKILL,
//! not an error or a panic: no cleanup guard, destructor or Ctrl-C handler runs, as when a CI
//! runner is lost mid-deploy. `BGD_FAULT_FAIL_OPERATION` is read by
//! `bgd-aws`'s interceptor.
use std::sync::atomic::{AtomicBool, Ordering};

use crate::phase::Phase;

/// The environment variable naming the phase boundary to die at.
pub const KILL_AT: &str = "BGD_FAULT_KILL_AT";
/// The phase to pause at as it starts, until [`RESUME_FILE`] exists: the race tests run
/// another verb at exactly that point, so each interleaving is driven, not hoped for.
pub(crate) const PAUSE_AT: &str = "BGD_FAULT_PAUSE_AT";
/// The file whose existence ends a pause; the paused run creates it with `.paused` added first.
pub(crate) const RESUME_FILE: &str = "BGD_FAULT_RESUME_FILE";
/// The AWS operation to fail before it is sent (`bgd-aws`'s interceptor reads it).
pub const FAIL_OPERATION: &str = "BGD_FAULT_FAIL_OPERATION";

/// Whether this process honours the hooks: only the tests' build arms them.
static ARMED: AtomicBool = AtomicBool::new(false);

/// Honours the fault hooks in this process; the tests' build calls it before `cli::main`.
pub fn arm() {
    ARMED.store(true, Ordering::Relaxed);
}

/// The value of the hook variable `name`, or `None` unless this build is armed.
pub fn hook(name: &str) -> Option<String> {
    ARMED
        .load(Ordering::Relaxed)
        .then(|| std::env::var(name).ok())
        .flatten()
}

/// Names each hook variable set in the environment that this (unarmed) build ignores.
pub fn warn_if_ignored() {
    if ARMED.load(Ordering::Relaxed) {
        return;
    }
    for name in [KILL_AT, PAUSE_AT, FAIL_OPERATION] {
        if std::env::var_os(name).is_some() {
            eprintln!(
                "warning: {name} is ignored: fault hooks work only in the tests' build (xtask-faults), never in cargo xtask"
            );
        }
    }
}

/// Waits here when `BGD_FAULT_PAUSE_AT` names this phase: says so by creating
/// `RESUME_FILE.paused`, then waits for `RESUME_FILE` (at most two minutes).
pub(crate) async fn pause_if_asked(phase: Phase) {
    let (Some(wanted), Some(resume)) = (hook(PAUSE_AT), hook(RESUME_FILE)) else {
        return;
    };
    if wanted != phase.name() {
        return;
    }
    eprintln!("fault injection: {PAUSE_AT}={wanted}: paused until {resume} exists");
    let _ = std::fs::write(format!("{resume}.paused"), "");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !std::path::Path::new(&resume).exists() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Where a phase stands: about to start, or its work has just returned `Ok`.
#[derive(Debug, Clone, Copy)]
pub enum Boundary {
    Start,
    End,
}

/// Dies here when `BGD_FAULT_KILL_AT` names this phase boundary; otherwise does nothing.
pub(crate) fn kill_if_asked(phase: Phase, boundary: Boundary) {
    let Some(wanted) = hook(KILL_AT) else {
        return;
    };
    let here = match boundary {
        Boundary::Start => phase.name().to_owned(),
        Boundary::End => format!("{phase}:end"),
    };
    if wanted != here {
        return;
    }
    eprintln!("fault injection: {KILL_AT}={wanted}: SIGKILL now");
    // SAFETY: kill(2) on our own pid takes plain integers and touches no memory of ours.
    unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    // SIGKILL to ourselves lands before kill(2) returns; should it not, still die without any
    // cleanup.
    std::process::abort();
}

#[cfg(test)]
mod tests {
    use super::{arm, hook};

    #[test]
    fn hooks_are_read_only_once_armed() {
        // PATH stands in for a hook variable: it is set in every test environment, and
        // setting a variable is unsafe while other tests run.
        assert_eq!(hook("PATH"), None, "unarmed: ignored");
        arm();
        assert_eq!(hook("PATH"), std::env::var("PATH").ok());
    }
}
