//! Deterministic simulation: the real pipeline (provision, deploy with and without --hold and
//! with rollouts, some handed off, resume, promote, abort, rollback, prune, unpin, status, history, verify and the dry runs, as
//! several actors at once, each verb that may move green through its closing statement; destroy
//! and provision again under faults after some storms, locks left behind after others) against
//! an in-memory AWS on virtual time, with faults at every cloud, registry and stage call (the
//! lock taken over among them, most often right at a write of green), some machines' session
//! credentials expiring, and an oracle that checks the world after every call. Same seed, same run, byte for byte; a failing run prints its
//! seed and the command that replays it with its step trace.
//!
//! The runtime: tokio's own current-thread scheduler with its clock paused (`test-util`), one
//! runtime per run. The pipeline is tokio code (its sleeps, deadlines and timeouts are
//! `tokio::time`), so this runs it unchanged, and on one thread a run's order of events
//! depends only on its timers; every latency, delay, fault and app answer is drawn from the
//! run's seed (`SmallRng`). The wall-clock seconds records and locks carry follow the same
//! paused clock (`ledger::virtual_clock`), each actor's off by its own drawn skew (`ledger::skewed`): a second's tick between two runs once changed a
//! version's Description, and so the tags named after it. turmoil and madsim were weighed: turmoil simulates sockets (the
//! world here is reached through the pipeline's traits, not the network) and builds on the same
//! paused clock; madsim replaces tokio for the whole build (a second build of the AWS SDK tree).
//! Neither would add determinism this lacks, and both add compile time on a 2-core machine.
//!
//! What the world models, and where: `world.rs` (state), `lambda.rs` (Lambda: versions, and
//! `lambda/` its aliases and resource policies), `gateway.rs` (API Gateway), `aws.rs` (the
//! account, the registry), `ecr.rs` and `iam.rs` (the calls of theirs the traits do not make
//! one at a time), by `bgd_rules`; `app.rs` (the data plane and the app),
//! `pruning.rs` (prune's deletions), `traffic.rs` (the users, Lambda's metrics, CloudWatch's late view of them and an alarm),
//! `fault.rs` (faults, drawn or scripted), `oracle.rs` (the invariants), `actor.rs` (the verbs), `run.rs` (a run: `run/` its storm, what may follow it, convergence).
mod actor;
mod app;
mod aws;
mod cloud;
mod conformance;
mod ecr;
mod fault;
mod gateway;
mod iam;
mod lambda;
mod oracle;
mod pruning;
mod run;
#[cfg(test)]
mod scenarios;
mod traffic;
mod world;

pub use conformance::conformance;
pub use fault::FaultCounts;

use std::{collections::BTreeSet, time::Instant};

use anyhow::Result;

use run::{prepare, run_one};

/// The app's function name in the simulation's deploy.toml.
const FUNCTION: &str = "sim";

/// What a batch of runs did.
pub struct Batch {
    pub runs: u64,
    pub steps: u64,
    pub faults: fault::FaultCounts,
    pub interleavings: usize,
    pub seconds: f64,
    /// The failing runs: seed and violations.
    pub failed: Vec<(u64, Vec<String>)>,
}

/// Runs seeds `first..first + runs` with `actors` actors each (from a just-provisioned stack
/// when `fresh`); `trace` prints every run's steps; `stop` ends the batch at the first run that
/// breaks an invariant.
pub fn batch(
    first: u64,
    runs: u64,
    actors: usize,
    fresh: bool,
    (trace, stop): (bool, bool),
) -> Result<Batch> {
    let fixtures = prepare()?;
    let started = Instant::now();
    let (mut steps, mut faults) = (0, fault::FaultCounts::default());
    let (mut schedules, mut failed) = (BTreeSet::new(), Vec::new());
    let mut ran = 0;
    for seed in first..first + runs {
        if stop && !failed.is_empty() {
            break;
        }
        ran += 1;
        let outcome = run_one(seed, (actors, fresh, trace), &fixtures);
        steps += outcome.steps;
        faults.merge(&outcome.faults);
        schedules.insert(outcome.schedule);
        if trace {
            println!("seed {seed}:\n{}", outcome.trace.join("\n"));
        }
        if !outcome.violations.is_empty() {
            failed.push((seed, outcome.violations));
        }
    }
    Ok(Batch {
        runs: ran,
        steps,
        faults,
        interleavings: schedules.len(),
        seconds: started.elapsed().as_secs_f64(),
        failed,
    })
}

impl Batch {
    pub fn runs_per_second(&self) -> f64 {
        self.runs as f64 / self.seconds
    }
}

#[cfg(test)]
mod tests;
