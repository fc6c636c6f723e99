//! `cargo xtask bench`: figures, measured the same way every run, never asserted (the machine
//! is shared and noisy); the goals are reported beside them, met or not. Writes
//! `target/bench/results.json` and `target/bench/results.md` and prints the Markdown.
mod app;
mod clone;
mod gateway;
mod pipeline;
mod rebuild;
mod reproducible;

use anyhow::Result;
use serde::Serialize;
use xshell::Shell;

use crate::flags;
use bgd_core::{facts::BuildFacts, setup};

/// A goal and whether this run met it.
#[derive(Debug, Serialize)]
struct Goal {
    goal: &'static str,
    measured: String,
    met: bool,
}

/// Order statistics of repeated measurements.
#[derive(Debug, Serialize)]
pub(crate) struct Summary {
    pub runs: usize,
    pub median: f64,
    pub p90: f64,
    pub p99: f64,
}

impl Summary {
    pub(crate) fn of(mut samples: Vec<f64>) -> Self {
        samples.sort_by(f64::total_cmp);
        let at = |q: f64| {
            samples
                .get(((samples.len().max(1) - 1) as f64 * q).round() as usize)
                .copied()
                .unwrap_or(f64::NAN)
        };
        Self {
            runs: samples.len(),
            median: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
        }
    }
}

#[derive(Debug, Serialize)]
struct Results {
    cores: usize,
    git_sha: String,
    quick: bool,
    goals: Vec<Goal>,
    app: app::Figures,
    pipeline: pipeline::Figures,
    gateway: gateway::Figures,
    /// Full mode only.
    reproducible: Option<reproducible::Figures>,
    /// Full mode only.
    clone_to_green: Option<clone::Figures>,
    /// Full mode only.
    rebuild: Option<rebuild::Figures>,
    sim: SimFigures,
}

/// The simulation's throughput on this machine (`cargo xtask sim`, 3 actors a run).
#[derive(Debug, Serialize)]
struct SimFigures {
    runs: u64,
    seconds: f64,
    runs_per_second: f64,
    steps: u64,
    violations: usize,
}

impl SimFigures {
    fn measure(runs: u64) -> Result<Self> {
        let batch = bgd_sim::batch(1, runs, 3, false, (false, false))?;
        Ok(Self {
            runs,
            seconds: batch.seconds,
            runs_per_second: batch.runs_per_second(),
            steps: batch.steps,
            violations: batch.failed.len(),
        })
    }

    fn table(&self) -> String {
        format!(
            "| simulation | |\n|---|---|\n| runs | {} |\n| wall time | {:.1} s |\n| runs per second | {:.0} |\n| steps (calls) | {} |\n| runs breaking an invariant | {} |\n",
            self.runs, self.seconds, self.runs_per_second, self.steps, self.violations
        )
    }
}

impl Results {
    fn goals(&self) -> Vec<Goal> {
        let (app, pipeline, gateway) = (&self.app, &self.pipeline, &self.gateway);
        // (goal, measured, met): the goals, in its order.
        let mut goals = vec![
            (
                "cold start median <= 5 ms",
                format!("{:.2} ms", app.cold_start_ms.median),
                app.cold_start_ms.median <= 5.0,
            ),
            (
                "bootstrap <= 3 MB",
                format!("{:.2} MB", app.bootstrap_bytes as f64 / 1e6),
                app.bootstrap_bytes <= 3_000_000,
            ),
            (
                "gateway >= 3x cargo lambda watch at concurrency 16",
                format!("{:.2}x", gateway.ratio_c16),
                gateway.ratio_c16 >= 3.0,
            ),
            (
                "local deploy <= 5 s excluding compilation",
                format!("{:.2} s", pipeline.deploy_wall_s.median),
                pipeline.deploy_wall_s.median <= 5.0,
            ),
            (
                "edit one app file -> green <= 5 s (local cloud)",
                format!("{:.2} s", pipeline.edit_to_green_s.median),
                pipeline.edit_to_green_s.median <= 5.0,
            ),
            (
                "cold start <= 1.2x hello world",
                format!("{:.2}x", app.cold_start_ratio),
                app.cold_start_ratio <= 1.2,
            ),
            (
                "no-op deploy <= 2 s (from source, warm cargo cache)",
                format!("{:.2} s", pipeline.noop_from_source_wall_s.median),
                pipeline.noop_from_source_wall_s.median <= 2.0,
            ),
            (
                "rollback: 1 write call, <= 1 s",
                format!(
                    "{} write call(s), {:.2} s",
                    pipeline.rollback_write_calls, pipeline.rollback_wall_s.median
                ),
                pipeline.rollback_write_calls == 1 && pipeline.rollback_wall_s.median <= 1.0,
            ),
        ];
        goals.push((
            "simulation >= 5,000 runs in <= 60 s",
            format!("{:.0} runs/s", self.sim.runs_per_second),
            self.sim.runs_per_second * 60.0 >= 5_000.0 && self.sim.violations == 0,
        ));
        if let Some(build) = &self.reproducible {
            goals.push((
                "same commit, two clean directories: same image digest (x86_64 and arm64)",
                (if build.reproducible { "yes" } else { "no" }).into(),
                build.reproducible,
            ));
        }
        if let Some(clone) = &self.clone_to_green {
            goals.push((
                "fresh clone -> green from `cargo xtask deploy --local` <= 3 min",
                format!("{:.0} s", clone.wall_s),
                clone.wall_s <= 180.0,
            ));
        }
        goals
            .into_iter()
            .map(|(goal, measured, met)| Goal {
                goal,
                measured,
                met,
            })
            .collect()
    }

    fn markdown(&self) -> String {
        let mut out = format!(
            "machine: {} cores; commit {}; {} mode\n\n| goal | measured | met |\n|---|---|---|\n",
            self.cores,
            self.git_sha,
            if self.quick { "quick" } else { "full" }
        );
        for goal in &self.goals {
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                goal.goal,
                goal.measured,
                if goal.met { "yes" } else { "**no**" }
            ));
        }
        let mut tables = vec![
            app::table(&self.app),
            pipeline::table(&self.pipeline),
            gateway::table(&self.gateway),
        ];
        tables.extend(self.reproducible.as_ref().map(reproducible::table));
        tables.extend(self.clone_to_green.as_ref().map(clone::table));
        tables.extend(self.rebuild.as_ref().map(rebuild::table));
        tables.push(self.sim.table());
        for table in tables {
            out.push('\n');
            out.push_str(&table);
        }
        out
    }
}

impl flags::Bench {
    pub fn run(self, runtime: &tokio::runtime::Runtime, json: bool) -> Result<()> {
        let sh = Shell::new()?;
        let facts = BuildFacts::from_git(&sh, setup::workspace_root(), None)?;
        let app = app::measure(runtime, &sh, &facts, self.quick)?;
        let stack = pipeline::Stack::up(&facts.git_sha)?;
        let pipeline = stack.measure(if self.quick { 3 } else { 7 })?;
        let gateway = gateway::measure(&sh, &stack.green_url()?, self.quick)?;
        drop(stack);
        let (reproducible, clone_to_green, rebuild) = if self.quick {
            (None, None, None)
        } else {
            (
                Some(reproducible::check(&sh, &facts, &app.image_digest)?),
                Some(clone::measure(&sh, &facts.git_sha)?),
                Some(rebuild::measure(&sh, 3)?),
            )
        };
        let sim = SimFigures::measure(if self.quick { 1_000 } else { 5_000 })?;
        let mut results = Results {
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            git_sha: facts.git_sha,
            quick: self.quick,
            goals: Vec::new(),
            app,
            pipeline,
            gateway,
            reproducible,
            clone_to_green,
            rebuild,
            sim,
        };
        results.goals = results.goals();
        let dir = setup::target_dir().join("bench");
        std::fs::create_dir_all(&dir)?;
        let markdown = results.markdown();
        std::fs::write(
            dir.join("results.json"),
            serde_json::to_vec_pretty(&results)?,
        )?;
        std::fs::write(dir.join("results.md"), &markdown)?;
        if json {
            println!("{}", serde_json::to_string_pretty(&results)?);
        } else {
            print!("{markdown}");
        }
        Ok(())
    }
}
