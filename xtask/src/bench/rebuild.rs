//! The tooling's own edit loop: `cargo build -p xtask` after one file changed, in the
//! pipeline (`bgd-core`: the crates above it rebuild too) and in the verbs (`xtask` alone).
//! The file's content stays; its modification time is what cargo sees.
use std::{fs::File, path::Path, time::Instant};

use anyhow::{Context, Result};
use serde::Serialize;
use xshell::{Shell, cmd};

use super::Summary;
use bgd_core::setup;

#[derive(Debug, Serialize)]
pub(super) struct Figures {
    /// Seconds, after an edit of `xtask/core/src/pipeline/deploy.rs`.
    pub core_edit_s: Summary,
    /// Seconds, after an edit of `xtask/src/verbs.rs`.
    pub verb_edit_s: Summary,
}

pub(super) fn measure(sh: &Shell, runs: usize) -> Result<Figures> {
    eprintln!("bench: rebuilding xtask after one edit, {runs} runs each");
    let root = setup::workspace_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let _dir = sh.push_dir(root);
    // Built first, so each run measures one edit's rebuild only.
    cmd!(sh, "{cargo} build -p xtask --quiet").run()?;
    let rebuild = |file: &str| -> Result<Summary> {
        let mut samples = Vec::new();
        for _ in 0..runs {
            touch(&root.join(file))?;
            let start = Instant::now();
            cmd!(sh, "{cargo} build -p xtask --quiet").run()?;
            samples.push(start.elapsed().as_secs_f64());
        }
        Ok(Summary::of(samples))
    };
    Ok(Figures {
        core_edit_s: rebuild("xtask/core/src/pipeline/deploy.rs")?,
        verb_edit_s: rebuild("xtask/src/verbs.rs")?,
    })
}

/// The file as if saved now, its content unchanged.
fn touch(path: &Path) -> Result<()> {
    File::options()
        .append(true)
        .open(path)
        .and_then(|file| file.set_modified(std::time::SystemTime::now()))
        .with_context(|| format!("touching {}", path.display()))
}

pub(super) fn table(figures: &Figures) -> String {
    let row =
        |what: &str, s: &Summary| format!("| {what} | {:.1} s | {:.1} s |\n", s.median, s.p90);
    format!(
        "| cargo build -p xtask after one edit (n={}) | median | p90 |\n|---|---|---|\n{}{}",
        figures.core_edit_s.runs,
        row(
            "of the pipeline (bgd-core and the crates above)",
            &figures.core_edit_s
        ),
        row("of a verb (xtask alone)", &figures.verb_edit_s)
    )
}
