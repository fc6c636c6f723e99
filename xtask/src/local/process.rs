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

/// Starts `program args` with stdout and stderr appended to `log`; returns its pid.
pub fn spawn(program: &Path, args: &[String], log: &Path) -> Result<u32> {
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

/// Whether `pid` is a live (not zombie) process whose command line mentions `port`, so a pid
/// reused by an unrelated process is not mistaken for ours.
pub fn is_ours(pid: u32, port: u16) -> bool {
    let port = port.to_string();
    is_alive(pid)
        && std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
            cmdline
                .windows(port.len())
                .any(|window| window == port.as_bytes())
        })
}

/// Whether `pid` runs (a zombie does not count).
pub fn is_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        // The state follows the parenthesised command name, which may itself hold spaces.
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}

/// SIGTERM to the process group `pid` leads, then SIGKILL after `grace`.
pub fn stop(sh: &Shell, pid: u32, grace: Duration) -> Result<()> {
    let group = format!("-{pid}");
    cmd!(sh, "kill -TERM -- {group}")
        .quiet()
        .ignore_stderr()
        .run()
        .ok();
    let deadline = Instant::now() + grace;
    while is_alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    if is_alive(pid) {
        cmd!(sh, "kill -KILL -- {group}")
            .quiet()
            .ignore_stderr()
            .run()
            .with_context(|| format!("killing process group {pid}"))?;
    }
    Ok(())
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> Result<u16> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").context("finding a free loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// Whether `port` can be bound on loopback (nothing else took it since we last used it).
pub fn port_is_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}
