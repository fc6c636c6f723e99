//! Processes the tests stop on purpose, by signal (libc's `kill`, no shell), and the local
//! cloud's components found by name (never by their order, nor by reading its state file).
use bgd_local::{Component, LocalCloud};

/// Sends `signal` (`libc::SIGKILL`, `libc::SIGTERM`, ...) to `pid`; fails the test unless it
/// was delivered.
pub fn kill(pid: u32, signal: i32) {
    let target = libc::pid_t::try_from(pid).expect("a pid fits pid_t");
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    let sent = unsafe { libc::kill(target, signal) };
    assert_eq!(
        sent,
        0,
        "kill -{signal} {pid}: {}",
        std::io::Error::last_os_error()
    );
}

/// Waits until `pid` is dead (a zombie, or reaped), at most 10 s: SIGKILL takes effect when the
/// process next runs, which on a loaded machine came after the test's next request reached it
/// alive (`local_cloud::a_killed_instance_gives_502…` saw 200 so).
pub async fn until_dead(pid: u32) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The state is the field after the command's closing parenthesis.
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().next());
        if matches!(state, None | Some("Z" | "X")) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{pid} still runs: {stat}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// Sends `signal` to a process tree at once, `pids[0]` its root: the root must be alive; one
/// below it may have died with its parent before its turn.
pub fn kill_tree(pids: &[u32], signal: i32) {
    let (root, below) = pids.split_first().expect("a tree has a root");
    kill(*root, signal);
    for pid in below {
        let target = libc::pid_t::try_from(*pid).expect("a pid fits pid_t");
        // SAFETY: as in `kill`.
        let sent = unsafe { libc::kill(target, signal) };
        let error = std::io::Error::last_os_error();
        assert!(
            sent == 0 || error.raw_os_error() == Some(libc::ESRCH),
            "kill -{signal} {pid}: {error}"
        );
    }
}

/// The pid of `component` of the running local cloud `local`.
pub async fn pid_of(local: &LocalCloud, component: Component) -> u32 {
    let status = local.status().await.unwrap();
    status
        .iter()
        .find(|s| s.component == component)
        .and_then(|s| s.pid)
        .unwrap_or_else(|| panic!("{} is not running: {status:?}", component.name()))
}
