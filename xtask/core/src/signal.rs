//! What ends a run from outside: Ctrl-C (SIGINT) on a terminal, SIGTERM from a CI runner that
//! cancels or times out a job (GitHub sends SIGINT, then SIGTERM, then SIGKILL), from `kill` or
//! from systemd, and SIGHUP when the terminal or SSH session closes. Cleanup must treat them
//! alike.
use std::future::Future;

use tokio::signal::unix::{SignalKind, signal};

/// Registers for SIGINT, SIGTERM and SIGHUP now (from then on none ends the process by
/// itself) and returns a future that resolves with the name of the first one to arrive. A
/// closed terminal killed the run silently before, leaving the lock and a split
/// (adversarial-3 m9).
pub(crate) fn shutdown_signal() -> std::io::Result<impl Future<Output = &'static str>> {
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
            _ = hangup.recv() => "SIGHUP",
        }
    })
}

#[cfg(test)]
mod tests {
    use std::{process::Command, time::Duration};

    use super::shutdown_signal;

    /// Sends `signal` to this test process, which must have registered for it.
    fn raise(signal: &str) {
        let pid = std::process::id().to_string();
        let status = Command::new("kill").args(["-s", signal, &pid]).status();
        assert!(status.unwrap().success());
    }

    #[tokio::test]
    async fn sigterm_sigint_and_sighup_each_end_the_wait_and_none_kills_the_process() {
        for (signal, name) in [("TERM", "SIGTERM"), ("INT", "SIGINT"), ("HUP", "SIGHUP")] {
            let received = shutdown_signal().unwrap();
            raise(signal);
            let got = tokio::time::timeout(Duration::from_secs(10), received).await;
            assert_eq!(got, Ok(name));
        }
    }
}
