//! What a rollback reports: printed once on stdout as a table or JSON.
use std::fmt;

use serde::Serialize;

use crate::progress::PhaseTime;

#[derive(Debug, Serialize)]
pub struct Report {
    pub from: u64,
    pub to: u64,
    pub git_sha: String,
    /// Whether the version had been verified before (then green moved in one write).
    pub verified_before: bool,
    pub pinned: bool,
    /// Green already served `to`, pinned (a re-run): nothing was moved.
    pub already_there: bool,
    /// This run aborted a rollout: a split put back on its main version, or a bake ended.
    pub aborted_rollout: bool,
    pub green_url: String,
    pub dry_run: bool,
    pub phases: Vec<PhaseTime>,
    /// AWS write calls this run sent (filled in by the caller, which owns the metered cloud).
    pub write_calls: usize,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.dry_run {
            "would roll back"
        } else {
            "rolled back"
        };
        if self.aborted_rollout {
            let verb = if self.dry_run {
                "would abort"
            } else {
                "aborted"
            };
            writeln!(
                f,
                "{verb} the rollout: green back on version {} ({}) alone",
                self.to,
                crate::ledger::short(&self.git_sha)
            )?;
        } else if self.already_there {
            writeln!(
                f,
                "green already serves version {} ({}), pinned: nothing moved",
                self.to,
                crate::ledger::short(&self.git_sha)
            )?;
        } else {
            writeln!(
                f,
                "{verb} green from version {} to {} ({})",
                self.from,
                self.to,
                crate::ledger::short(&self.git_sha)
            )?;
        }
        if !self.verified_before {
            writeln!(
                f,
                "version {} was never verified: verified on blue first",
                self.to
            )?;
        }
        writeln!(
            f,
            "green is pinned: deploys refuse until `cargo xtask unpin` (or deploy --unpin)"
        )?;
        writeln!(f, "green: {}", self.green_url)?;
        writeln!(f, "{:<10} {}", "writes", self.write_calls)?;
        for phase in &self.phases {
            writeln!(
                f,
                "{:<10} {:<12} {:>7.2}s",
                "phase", phase.phase, phase.seconds
            )?;
        }
        Ok(())
    }
}
