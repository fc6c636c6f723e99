//! The pipeline's figures on a local cloud of the bench's own (`target/bench/pipeline/`): the
//! real `cargo xtask` binary deploying two prebuilt images alternately, so compilation stays
//! out of the figures. Per round: a deploy (wall time and per-phase), a no-op deploy, the same
//! no-op from source as a user runs it (the build with a warm cargo cache, then nothing to do),
//! a rollback of a verified version (wall time and AWS write calls), an unpin. Then, as many
//! times, edit to green: a deploy from source of an app that changed.
use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::Value;

use super::Summary;
use crate::driver::Isolated;
use bgd_core::{image::Built, setup};

#[derive(Debug, Serialize)]
pub(super) struct Figures {
    pub rounds: usize,
    /// Seconds, from starting `cargo xtask deploy` to its exit.
    pub deploy_wall_s: Summary,
    /// Seconds per phase, as the deploy reports them, in the order they run.
    pub deploy_phase_s: Vec<(String, Summary)>,
    pub deploy_write_calls: usize,
    pub noop_wall_s: Summary,
    pub noop_write_calls: usize,
    /// `cargo xtask deploy` building from source with a warm cargo cache, green already on it.
    pub noop_from_source_wall_s: Summary,
    pub rollback_wall_s: Summary,
    pub rollback_write_calls: usize,
    /// `cargo xtask deploy` from source after an app change (a new `--build-id`, which
    /// recompiles the app crate as an edited file does) until green serves it.
    pub edit_to_green_s: Summary,
}

/// A local cloud of the bench's own with the app deployed; stopped on drop.
pub(super) struct Stack {
    stack: Isolated,
    images: (PathBuf, PathBuf),
}

impl Stack {
    fn xtask(&self, args: &[&str]) -> Result<(f64, Value)> {
        let start = Instant::now();
        let output = self
            .stack
            .command(self.stack.exe(), args)
            // Its progress shows as the bench's; its result (stdout) is parsed.
            .stderr(std::process::Stdio::inherit())
            .output()
            .with_context(|| format!("running {}", self.stack.exe().display()))?;
        let seconds = start.elapsed().as_secs_f64();
        if !output.status.success() {
            bail!(
                "cargo xtask {} failed (its output is above)",
                args.join(" ")
            );
        }
        Ok((seconds, serde_json::from_slice(&output.stdout)?))
    }

    /// An image of HEAD with this build id: the one built before when its commit matches.
    fn image(&self, id: &str, head: &str) -> Result<PathBuf> {
        let out = self.stack.dir().join(format!("image-{id}"));
        if Built::read(&out)
            .is_ok_and(|(built, _)| built.facts.git_sha == head && !built.facts.dirty)
        {
            return Ok(out);
        }
        let status = Command::new(self.stack.exe())
            .args(["build", "--build-id", id, "--out"])
            .arg(&out)
            .status()?;
        anyhow::ensure!(status.success(), "building the bench image {id}");
        Ok(out)
    }

    /// A fresh local cloud with image a of HEAD deployed (provisioned on the way).
    pub(super) fn up(head: &str) -> Result<Self> {
        let dir = setup::target_dir().join("bench/pipeline");
        let exe = std::env::current_exe().context("finding the xtask binary")?;
        let deploy_toml = "[project]\nname = \"bench\"\nregion = \"us-east-1\"\n\n[function]\nmemory_mb = 128\ntimeout_s = 5\n\n\
             [function.environment]\nGREETING = \"hello from the bench\"\n\n[[smoke]]\npath = \"/\"\ncontains = \"hello\"\n";
        let mut stack = Self {
            stack: Isolated::fresh(dir, exe, deploy_toml)?,
            images: (PathBuf::new(), PathBuf::new()),
        };
        stack.images = (stack.image("bench-a", head)?, stack.image("bench-b", head)?);
        stack.xtask(&["deploy", "--image", path(&stack.images.0)])?;
        Ok(stack)
    }

    /// Where green answers now (read fresh: `local up` may have restarted the gateway).
    pub(super) fn green_url(&self) -> Result<String> {
        let (_, status) = self.xtask(&["status"])?;
        let green = status["stages"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["stage"] == "green");
        Ok(green
            .and_then(|s| s["url"].as_str())
            .with_context(|| format!("status shows no stage green: {status}"))?
            .to_owned())
    }

    /// `cargo xtask ARGS`, which must end in `outcome`: its wall time and report.
    fn expect(&self, args: &[&str], outcome: &str) -> Result<(f64, Value)> {
        let (seconds, report) = self.xtask(args)?;
        anyhow::ensure!(
            report["outcome"] == outcome,
            "expected {outcome} from cargo xtask {}: {report}",
            args.join(" ")
        );
        Ok((seconds, report))
    }

    /// `rounds` of: deploy b over a, the same again (no-op), again from source (no-op),
    /// rollback to a, unpin.
    pub(super) fn measure(&self, rounds: usize) -> Result<Figures> {
        eprintln!("bench: pipeline, {rounds} rounds");
        let b = ["deploy", "--image", path(&self.images.1)];
        let (mut deploys, mut noops, mut rollbacks) = (Vec::new(), Vec::new(), Vec::new());
        let mut from_source = Vec::new();
        // Image b's build from source; built once first, so cargo's cache is warm for it.
        let rebuild_b = ["deploy", "--build-id", "bench-b"];
        let warm = self.stack.dir().join("image-warm");
        self.xtask(&["build", "--build-id", "bench-b", "--out", path(&warm)])?;
        let mut phases: Vec<(String, Vec<f64>)> = Vec::new();
        let (mut deploy_writes, mut noop_writes, mut rollback_writes) = (0, 0, 0);
        let write_calls =
            |report: &Value| report["write_calls"].as_u64().unwrap_or_default() as usize;
        for _ in 0..rounds {
            // Green serves a here: b is a real deploy, then a no-op; the rollback returns to a.
            let (seconds, report) = self.expect(&b, "deployed")?;
            deploys.push(seconds);
            deploy_writes = write_calls(&report);
            for phase in report["phases"].as_array().into_iter().flatten() {
                let name = phase["phase"].as_str().unwrap_or_default();
                let seconds = phase["seconds"].as_f64().unwrap_or_default();
                match phases.iter_mut().find(|(known, _)| known == name) {
                    Some((_, samples)) => samples.push(seconds),
                    None => phases.push((name.to_owned(), vec![seconds])),
                }
            }
            let (seconds, report) = self.expect(&b, "already_deployed")?;
            noops.push(seconds);
            noop_writes = write_calls(&report);
            // A deploy here would mean the build from source differs from image b.
            from_source.push(self.expect(&rebuild_b, "already_deployed")?.0);
            let (seconds, report) = self.xtask(&["rollback"])?;
            rollbacks.push(seconds);
            rollback_writes = write_calls(&report);
            self.xtask(&["unpin"])?;
        }
        // After the rounds: each of these leaves cargo's cache on another build id, so a
        // no-op from source after one would compile.
        let mut edits = Vec::new();
        for round in 0..rounds {
            let id = format!("bench-edit-{round}");
            edits.push(self.expect(&["deploy", "--build-id", &id], "deployed")?.0);
        }
        Ok(Figures {
            rounds,
            deploy_wall_s: Summary::of(deploys),
            deploy_phase_s: phases
                .into_iter()
                .map(|(k, v)| (k, Summary::of(v)))
                .collect(),
            deploy_write_calls: deploy_writes,
            noop_wall_s: Summary::of(noops),
            noop_write_calls: noop_writes,
            noop_from_source_wall_s: Summary::of(from_source),
            rollback_wall_s: Summary::of(rollbacks),
            rollback_write_calls: rollback_writes,
            edit_to_green_s: Summary::of(edits),
        })
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

pub(super) fn table(f: &Figures) -> String {
    let mut out = format!(
        "| pipeline on the local cloud (n={}) | median | p90 |\n|---|---|---|\n",
        f.rounds
    );
    let mut row = |name: &str, s: &Summary| {
        out.push_str(&format!(
            "| {name} | {:.3} s | {:.3} s |\n",
            s.median, s.p90
        ))
    };
    row("deploy, wall (prebuilt image)", &f.deploy_wall_s);
    for (phase, s) in &f.deploy_phase_s {
        row(&format!("  phase {phase}"), s);
    }
    row("no-op deploy, wall", &f.noop_wall_s);
    row(
        "no-op deploy from source, wall (warm cargo cache)",
        &f.noop_from_source_wall_s,
    );
    row("rollback of a verified version, wall", &f.rollback_wall_s);
    row(
        "edit to green: deploy from source after an app change",
        &f.edit_to_green_s,
    );
    out.push_str(&format!(
        "| AWS write calls: deploy / no-op / rollback | {} / {} / {} | |\n",
        f.deploy_write_calls, f.noop_write_calls, f.rollback_write_calls
    ));
    out
}
