//! Progress on stderr: a spinner with the elapsed time on a terminal, plain lines elsewhere
//! (CI logs), and each phase's wall time kept for the final report. Results go to stdout. The
//! simulation runs thousands of pipelines a minute: there each phase boundary goes to its step
//! trace instead ([`Progress::traced`]), and notes and warnings nowhere.
use std::{
    future::Future,
    io::{IsTerminal, Write},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde::Serialize;

use crate::{
    hooks::{self, Boundary},
    phase::Phase,
};

const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// One phase's name and how long it took.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseTime {
    pub phase: Phase,
    pub seconds: f64,
    pub ok: bool,
}

/// Where a phase boundary is told instead of stderr: `(phase, None)` as it starts,
/// `(phase, Some(ok))` as it ends.
pub type Trace = Arc<dyn Fn(Phase, Option<bool>) + Send + Sync>;

pub struct Progress {
    tty: bool,
    trace: Option<Trace>,
    times: Mutex<Vec<PhaseTime>>,
}

impl Default for Progress {
    fn default() -> Self {
        Self {
            tty: std::io::stderr().is_terminal(),
            trace: None,
            times: Mutex::default(),
        }
    }
}

impl Progress {
    /// Runs one phase, showing it while it runs and recording its time. The fault injection
    /// hook (`BGD_FAULT_KILL_AT`, see `fault.rs`) sits on both of its boundaries.
    pub async fn phase<T, E>(
        &self,
        phase: Phase,
        work: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        hooks::kill_if_asked(phase, Boundary::Start);
        hooks::pause_if_asked(phase).await;
        if let Some(trace) = &self.trace {
            trace(phase, None);
            let result = work.await;
            trace(phase, Some(result.is_ok()));
            return result;
        }
        let name = phase.name();
        let start = Instant::now();
        if !self.tty {
            eprintln!("==> {name}");
        }
        let mut ticker = tokio::time::interval(Duration::from_millis(100));
        tokio::pin!(work);
        let mut frame = 0;
        let result = loop {
            tokio::select! {
                result = &mut work => break result,
                _ = ticker.tick(), if self.tty => {
                    eprint!("\r{} {name} {:.1}s\x1b[K", FRAMES[frame % FRAMES.len()], start.elapsed().as_secs_f64());
                    let _ = std::io::stderr().flush();
                    frame += 1;
                }
            }
        };
        let seconds = start.elapsed().as_secs_f64();
        let ok = result.is_ok();
        let mark = if ok { "ok" } else { "FAILED" };
        if self.tty {
            eprintln!(
                "\r{} {name} {seconds:.1}s\x1b[K",
                if ok { '✓' } else { '✗' }
            );
        } else {
            eprintln!("    {name}: {mark} in {seconds:.2}s");
        }
        self.times
            .lock()
            .expect("lock")
            .push(PhaseTime { phase, seconds, ok });
        if ok {
            hooks::kill_if_asked(phase, Boundary::End);
        }
        result
    }

    /// Phase boundaries to `trace`, nothing on stderr (the simulation's actors).
    pub fn traced(trace: Trace) -> Self {
        Self {
            tty: false,
            trace: Some(trace),
            times: Mutex::default(),
        }
    }

    /// A line of information between phases.
    pub fn note(&self, message: impl std::fmt::Display) {
        if self.trace.is_none() {
            eprintln!("    {}", crate::secret::redact(&message.to_string()));
        }
    }

    pub fn warn(&self, message: impl std::fmt::Display) {
        if self.trace.is_none() {
            eprintln!("warning: {}", crate::secret::redact(&message.to_string()));
        }
    }

    pub fn times(&self) -> Vec<PhaseTime> {
        self.times.lock().expect("lock").clone()
    }
}
