//! Full mode only: clone to green, a user's first run. The commit is cloned into a clean
//! directory and the README's `cargo xtask deploy --local` runs there with an empty target dir,
//! timed until it exits with green serving. The crate cache, pip's cache and the shared tools
//! (`~/.cache/bgd-tools`, zig's libc in `~/.cache/zig`) are this machine's and warm: a fresh
//! clone, not a fresh machine. The clone's local cloud is stopped and the clone removed after.
use std::{path::PathBuf, time::Instant};

use anyhow::{Context, Result};
use serde::Serialize;
use xshell::{Shell, cmd};

use bgd_core::setup;

#[derive(Debug, Serialize)]
pub(super) struct Figures {
    /// `cargo xtask deploy --local` in the fresh clone: xtask's debug build, the local cloud's
    /// start, the app's release build, provision and the deploy.
    pub wall_s: f64,
    /// User plus system time of it and every process it waited for (the local cloud's
    /// servers, which outlive it, are not counted).
    pub cpu_s: f64,
}

/// Stops the clone's local cloud and removes the clone, whatever the run did.
struct Clone(PathBuf);

impl Drop for Clone {
    fn drop(&mut self) {
        let xtask = self.0.join("target/debug/xtask");
        if xtask.exists() {
            let _ = std::process::Command::new(xtask)
                .args(["local", "down"])
                .current_dir(&self.0)
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(super) fn measure(sh: &Shell, commit: &str) -> Result<Figures> {
    let root = setup::target_dir().join("bench/clone-to-green");
    if root.exists() {
        std::fs::remove_dir_all(&root).with_context(|| format!("removing {}", root.display()))?;
    }
    eprintln!(
        "bench: clone to green, `cargo xtask deploy --local` in a fresh clone of {commit} (minutes)"
    );
    super::reproducible::clone(sh, setup::workspace_root(), &root, commit)?;
    let clone = Clone(root);
    let _dir = sh.push_dir(&clone.0);
    // The clone's own target dir, as a user's clone has.
    let _target = sh.push_env("CARGO_TARGET_DIR", clone.0.join("target"));
    let cpu_before = children_cpu_s();
    let start = Instant::now();
    cmd!(sh, "cargo xtask deploy --local")
        .run()
        .context("cargo xtask deploy --local in a fresh clone")?;
    Ok(Figures {
        wall_s: start.elapsed().as_secs_f64(),
        cpu_s: children_cpu_s() - cpu_before,
    })
}

/// User plus system seconds of this process's waited-for descendants (getrusage(2)).
fn children_cpu_s() -> f64 {
    // SAFETY: getrusage writes the struct it is given and nothing else.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

pub(super) fn table(f: &Figures) -> String {
    format!(
        "| clone to green (fresh clone, empty target, warm crate and tool caches) | |\n|---|---|\n| `cargo xtask deploy --local`, wall | {:.0} s |\n| CPU (user + system) | {:.0} s |\n",
        f.wall_s, f.cpu_s
    )
}
