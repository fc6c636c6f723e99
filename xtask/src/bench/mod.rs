//! `cargo xtask bench`: figures, measured the same way every run, never asserted (the machine
//! is shared and noisy). Writes `target/bench/results.json` and prints Markdown tables.
mod app;
mod gateway;
mod pipeline;

use anyhow::Result;
use serde::Serialize;
use xshell::Shell;

use crate::{flags, image::BuildFacts, setup};

/// Order statistics of repeated measurements.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub runs: usize,
    pub median: f64,
    pub p90: f64,
    pub p99: f64,
}

impl Summary {
    pub fn of(mut samples: Vec<f64>) -> Self {
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
    app: app::Figures,
    pipeline: pipeline::Figures,
    gateway: gateway::Figures,
}

impl flags::Bench {
    pub fn run(self, runtime: &tokio::runtime::Runtime, json: bool) -> Result<()> {
        let sh = Shell::new()?;
        let facts = BuildFacts::from_git(&sh, None)?;
        let app = app::measure(runtime, &sh, &facts, self.quick)?;
        let stack = pipeline::Stack::up(&facts.git_sha)?;
        let pipeline = stack.measure(if self.quick { 3 } else { 7 })?;
        let gateway = gateway::measure(&sh, &stack.green_url()?, self.quick)?;
        drop(stack);
        let results = Results {
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            git_sha: facts.git_sha,
            quick: self.quick,
            app,
            pipeline,
            gateway,
        };
        let dir = setup::target_dir().join("bench");
        std::fs::create_dir_all(&dir)?;
        std::fs::write(
            dir.join("results.json"),
            serde_json::to_vec_pretty(&results)?,
        )?;
        if json {
            println!("{}", serde_json::to_string_pretty(&results)?);
        } else {
            println!(
                "machine: {} cores; commit {}\n",
                results.cores, results.git_sha
            );
            println!("{}", app::table(&results.app));
            println!("{}", pipeline::table(&results.pipeline));
            print!("{}", gateway::table(&results.gateway));
        }
        Ok(())
    }
}
