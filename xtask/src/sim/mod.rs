//! Deterministic simulation: the real pipeline (provision, deploy, rollback, unpin, status,
//! history, verify and the dry runs, as several actors at once) against an in-memory AWS on
//! virtual time, with faults at every cloud, registry and stage call, and an oracle that checks
//! the world after every call. Same seed, same run, byte for byte; a failing run prints its
//! seed and the command that replays it with its step trace.
//!
//! The runtime: tokio's own current-thread scheduler with its clock paused (`test-util`), one
//! runtime per run. The pipeline is tokio code (its sleeps, deadlines and timeouts are
//! `tokio::time`), so this runs it unchanged, and on one thread a run's order of events
//! depends only on its timers; every latency, delay, fault and app answer is drawn from the
//! run's seed (`SmallRng`). turmoil and madsim were weighed: turmoil simulates sockets (the
//! world here is reached through the pipeline's traits, not the network) and builds on the same
//! paused clock; madsim replaces tokio for the whole build (a second build of the AWS SDK tree).
//! Neither would add determinism this lacks, and both add compile time on a 2-core machine.
//!
//! What the world models, and where: `world.rs` (state), `aws.rs` (Lambda, API Gateway, ECR,
//! IAM and the registry, by `crate::rules`), `app.rs` (the data plane and the app),
//! `fault.rs` (faults), `oracle.rs` (the invariants), `actor.rs` (the verbs), `run.rs` (a run).
mod actor;
mod app;
mod aws;
mod cloud;
mod fault;
mod oracle;
mod run;
mod world;

use std::{collections::BTreeSet, time::Instant};

use anyhow::Result;

pub(crate) use run::{prepare, run_one};

use crate::flags;

/// The app's function name in the simulation's deploy.toml.
const FUNCTION: &str = "sim";

impl flags::Sim {
    pub fn run(self) -> Result<()> {
        let fixtures = prepare()?;
        let started = Instant::now();
        let mut steps = 0;
        let mut faults = fault::FaultCounts::default();
        let mut schedules = BTreeSet::new();
        let mut failed = Vec::new();
        for seed in self.seed..self.seed + self.runs {
            let outcome = run_one(seed, self.actors, &fixtures);
            steps += outcome.steps;
            faults.merge(&outcome.faults);
            schedules.insert(outcome.schedule);
            if self.trace {
                println!("seed {seed}:\n{}", outcome.trace.join("\n"));
            }
            if !outcome.violations.is_empty() {
                failed.push((seed, outcome));
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        println!("runs          {}", self.runs);
        println!("steps         {steps}");
        println!("faults        {faults}");
        println!("interleavings {} distinct", schedules.len());
        println!("violations    {}", failed.len());
        println!(
            "time          {seconds:.1} s ({:.0} runs/s)",
            self.runs as f64 / seconds
        );
        for (seed, outcome) in &failed {
            println!("\nseed {seed} failed:");
            for violation in &outcome.violations {
                println!("  {violation}");
            }
            println!(
                "  replay: cargo xtask sim --seed {seed} --runs 1 --actors {} --trace",
                self.actors
            );
        }
        anyhow::ensure!(
            failed.is_empty(),
            "{} of {} runs broke an invariant",
            failed.len(),
            self.runs
        );
        Ok(())
    }
}
