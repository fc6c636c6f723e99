//! `cargo xtask sim`: a batch of seeded simulation runs (`bgd-sim`), and what they found;
//! with `--mutants`, the batch against builds with known bugs planted (`sim/mutants.rs`).
mod mutants;

use anyhow::Result;

use crate::flags;

/// The batch against each planted bug, at most `runs` runs each: an error names every mutant
/// neither the batch nor a named scenario caught.
pub(crate) fn mutants(runs: u64) -> Result<()> {
    mutants::run(runs)
}

impl flags::Sim {
    pub fn run(self) -> Result<()> {
        if self.mutants {
            return mutants(self.runs);
        }
        let batch = bgd_sim::batch(
            self.seed,
            self.runs,
            self.actors,
            self.fresh,
            (self.trace, self.first_failure),
        )?;
        println!("runs          {}", batch.runs);
        println!("steps         {}", batch.steps);
        println!("faults        {}", batch.faults);
        println!("interleavings {} distinct", batch.interleavings);
        println!("violations    {} runs", batch.failed.len());
        println!(
            "time          {:.1} s ({:.0} runs/s)",
            batch.seconds,
            batch.runs_per_second()
        );
        for (seed, violations) in &batch.failed {
            println!("\nseed {seed} failed:");
            for violation in violations {
                println!("  {violation}");
            }
            println!(
                "  replay with its step trace: cargo xtask sim --seed {seed} --runs 1 --actors {}{} --trace",
                self.actors,
                if self.fresh { " --fresh" } else { "" }
            );
        }
        anyhow::ensure!(
            batch.failed.is_empty(),
            "{} of {} runs broke an invariant",
            batch.failed.len(),
            batch.runs
        );
        Ok(())
    }
}
