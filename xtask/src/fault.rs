//! Fault injection for the kill tests, named as such and inert unless `BGD_FAULT_KILL_AT` is
//! set: `PHASE` SIGKILLs this process as that phase starts, `PHASE:end` once its work has
//! returned successfully (before the next phase). SIGKILL, not an error or a panic: no cleanup
//! guard, destructor or Ctrl-C handler runs, as when a CI runner is lost mid-deploy.
use xshell::{Shell, cmd};

/// The environment variable naming the phase boundary to die at.
pub const KILL_AT: &str = "BGD_FAULT_KILL_AT";

/// Where a phase stands: about to start, or its work has just returned `Ok`.
#[derive(Debug, Clone, Copy)]
pub enum Boundary {
    Start,
    End,
}

/// Dies here when `BGD_FAULT_KILL_AT` names this phase boundary; otherwise does nothing.
pub fn kill_if_asked(phase: &str, boundary: Boundary) {
    let Ok(wanted) = std::env::var(KILL_AT) else {
        return;
    };
    let here = match boundary {
        Boundary::Start => phase.to_owned(),
        Boundary::End => format!("{phase}:end"),
    };
    if wanted != here {
        return;
    }
    eprintln!("fault injection: {KILL_AT}={wanted}: SIGKILL now");
    let pid = std::process::id().to_string();
    if let Ok(sh) = Shell::new() {
        // `kill` delivers the signal while we wait for it: this call does not return.
        let _ = cmd!(sh, "kill -KILL {pid}").quiet().run();
    }
    // Only reached when `kill` could not be run: still die without any cleanup.
    std::process::abort();
}
