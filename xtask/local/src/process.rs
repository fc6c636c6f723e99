//! Background processes of the local cloud: started detached in their own process group (so a
//! Ctrl-C of `up` leaves them running and `down` stops a component with everything it spawned),
//! checked and stopped by pid.
use std::{
    fs::OpenOptions,
    os::unix::process::CommandExt,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

use super::state::Started;

/// Starts `program args` with stdout and stderr appended to `log`; returns its pid.
pub(crate) fn spawn(program: &Path, args: &[String], log: &Path) -> Result<u32> {
    let out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {}", program.display()))?;
    let pid = child.id();
    // Reaps the child when it exits while we still run, so a stopped component leaves no
    // zombie behind; if we exit first, init adopts it.
    std::thread::spawn(move || child.wait());
    Ok(pid)
}

/// Whether `started` still runs: alive (not a zombie) and the same pid, started at the same
/// tick (a pid reused by an unrelated process has another start time), or, recorded with no
/// start time, its command line mentions its port. Not the command line when the start time
/// is known: between fork and exec it is still the parent's, so a `local up` given up at that
/// moment left the component it had just spawned running (the tests' guard test found it).
pub(crate) fn is_ours(started: &Started) -> bool {
    let Started {
        pid,
        port,
        started_at,
    } = *started;
    is_alive(pid)
        && match started_at {
            Some(at) => start_time(pid) == Some(at),
            None => mentions(pid, &port.to_string()),
        }
}

/// When `pid` started, in clock ticks after boot: field 22 of `/proc/PID/stat` (proc(5)).
pub(crate) fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name (which may hold spaces) start at field 3.
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(22 - 3)?.parse().ok()
}

/// Whether the command line of `pid` contains `text`.
pub(crate) fn mentions(pid: u32, text: &str) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
        cmdline
            .windows(text.len())
            .any(|window| window == text.as_bytes())
    })
}

/// Whether `pid` runs (a zombie does not count).
pub(crate) fn is_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        // The state follows the parenthesised command name, which may itself hold spaces.
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}

/// SIGTERM to the process group `pid` leads and to every process it started (some, like
/// `cargo lambda watch`'s function, run in a group of their own), then SIGKILL to those still
/// alive after `grace`.
pub fn stop(sh: &Shell, pid: u32, grace: Duration) -> Result<()> {
    let mut targets = vec![format!("-{pid}")];
    targets.extend(descendants(pid).iter().map(u32::to_string));
    let signalled = &targets;
    cmd!(sh, "kill -TERM -- {signalled...}")
        .quiet()
        .ignore_stderr()
        .run()
        .ok();
    let gone_within = |patience: Duration| {
        let deadline = Instant::now() + patience;
        loop {
            let alive = targets
                .iter()
                .any(|t| t.trim_start_matches('-').parse().is_ok_and(is_alive));
            if !alive || Instant::now() >= deadline {
                return !alive;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    if gone_within(grace) {
        return Ok(());
    }
    // kill fails for those that exited meanwhile, and still kills the rest.
    let killed = cmd!(sh, "kill -KILL -- {signalled...}")
        .quiet()
        .ignore_stderr()
        .run();
    anyhow::ensure!(
        gone_within(Duration::from_secs(1)),
        "process {pid} or one it started survived SIGKILL ({killed:?})"
    );
    Ok(())
}

/// Every process below `pid`, children before their own children.
fn descendants(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let mut next = vec![pid];
    while let Some(parent) = next.pop() {
        let tasks = std::fs::read_dir(format!("/proc/{parent}/task"))
            .into_iter()
            .flatten();
        for task in tasks.flatten() {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
                found.push(child);
                next.push(child);
            }
        }
    }
    found
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> Result<u16> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").context("finding a free loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// Whether `port` can be bound on loopback (nothing else took it since we last used it).
pub(crate) fn port_is_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pid_is_ours_only_while_it_is_the_process_we_started() {
        let dir = std::env::temp_dir().join(format!("bgd-ours-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Its command line holds the port, as a process that took over a reused pid may.
        let pid = spawn(
            Path::new("/bin/sleep"),
            &["30".into(), "47123".into()],
            &dir.join("log"),
        )
        .unwrap();
        let started = Started {
            pid,
            port: 47123,
            started_at: start_time(pid),
        };
        // Ours at once, before exec may have laid out its command line: `down` may come then.
        assert!(started.started_at.is_some() && is_ours(&started));
        let reused = Started {
            started_at: started.started_at.map(|t| t + 1),
            ..started
        };
        assert!(!is_ours(&reused), "another process under the same pid");
        stop(&Shell::new().unwrap(), pid, Duration::from_secs(2)).unwrap();
        assert!(!is_ours(&started));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn stop_ends_what_the_process_started_in_a_group_of_its_own() {
        let dir = std::env::temp_dir().join(format!("bgd-stop-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // As cargo lambda watch does with the function: a child in a session of its own.
        let pid = spawn(
            Path::new("/bin/sh"),
            &["-c".into(), "setsid sleep 60 & wait".into()],
            &dir.join("log"),
        )
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let child = loop {
            if let Some(&child) = descendants(pid).first() {
                break child;
            }
            assert!(Instant::now() < deadline, "sh started no child");
            std::thread::sleep(Duration::from_millis(20));
        };
        stop(&Shell::new().unwrap(), pid, Duration::from_secs(2)).unwrap();
        assert!(!is_alive(pid) && !is_alive(child));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
