//! Every phase a run goes through, by the one name the progress lines, the reports' `phases`,
//! the kill hook (`BGD_FAULT_KILL_AT=NAME[:end]`) and the tests use. Each deploy phase has its
//! own file in `pipeline/`, named after it.
use std::{fmt, str::FromStr};

use serde::{Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::VariantArray)]
pub enum Phase {
    /// Reads API, green stage, green alias and pin; resolves deploy.toml's settings.
    Preflight,
    /// Builds the image (or reads one built earlier).
    Build,
    /// Green already runs this image with this configuration: nothing to do.
    NoOpCheck,
    /// Creates stage `blue` from green's deployment: the lock.
    Lock,
    /// Pushes the image to the function's repository.
    Push,
    /// Updates code and configuration, publishes version N.
    Update,
    /// Points alias `blue` at N.
    Blue,
    /// Blue reports N of this build, healthy, smoke checks pass; the verification is recorded.
    Verify,
    /// One step of a canary or linear rollout: green's weight on N (one guarded write), then
    /// green watched for the step's duration.
    Shift,
    /// Moves alias `green` to N (guarded by its RevisionId); green must report N.
    Promote,
    /// Green watched on N alone for `[rollout] bake`.
    Bake,
    /// A rollout's signal breached: green back on the old version alone (one guarded write),
    /// N recorded as failed.
    Revert,
    /// Deletes stage `blue` (the lock), whatever ended the run.
    Cleanup,
    /// Rollback: the target version exists and passes the verification rule.
    CheckTarget,
    /// Promote: the held deploy is still live and blue still reports it.
    CheckHold,
    /// Provision: reads what exists.
    Inspect,
    /// Provision: creates or repairs the function.
    Function,
    /// Provision: the green stage and its deployment.
    GreenStage,
    /// Provision: green answers with the version provision verified.
    Green,
}

impl Phase {
    /// A deploy's phases in order: `deploy.rs` runs them top to bottom.
    pub const DEPLOY: [Phase; 10] = [
        Phase::Preflight,
        Phase::Build,
        Phase::NoOpCheck,
        Phase::Lock,
        Phase::Push,
        Phase::Update,
        Phase::Blue,
        Phase::Verify,
        Phase::Promote,
        Phase::Cleanup,
    ];
    /// A rollback to a version that passes the verification rule.
    pub const ROLLBACK_VERIFIED: [Phase; 3] =
        [Phase::Preflight, Phase::CheckTarget, Phase::Promote];
    /// A rollback to a version that must be verified on blue first.
    pub const ROLLBACK_UNVERIFIED: [Phase; 7] = [
        Phase::Preflight,
        Phase::CheckTarget,
        Phase::Lock,
        Phase::Blue,
        Phase::Verify,
        Phase::Promote,
        Phase::Cleanup,
    ];
    /// Every phase, in declaration order (derived: a new variant cannot be left out).
    pub const ALL: &[Phase] = <Self as strum::VariantArray>::VARIANTS;

    pub fn name(self) -> &'static str {
        match self {
            Phase::Preflight => "preflight",
            Phase::Build => "build",
            Phase::NoOpCheck => "no-op check",
            Phase::Lock => "lock",
            Phase::Push => "push",
            Phase::Update => "update",
            Phase::Blue => "blue",
            Phase::Verify => "verify",
            Phase::Shift => "shift",
            Phase::Promote => "promote",
            Phase::Bake => "bake",
            Phase::Revert => "revert",
            Phase::Cleanup => "cleanup",
            Phase::CheckTarget => "check target",
            Phase::CheckHold => "check hold",
            Phase::Inspect => "inspect",
            Phase::Function => "function",
            Phase::GreenStage => "green stage",
            Phase::Green => "green",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Phase {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        Phase::ALL
            .iter()
            .copied()
            .find(|phase| phase.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Phase::ALL.iter().map(|p| p.name()).collect();
                format!(
                    "no phase is called {name:?}; the phases: {}",
                    names.join(", ")
                )
            })
    }
}

impl Serialize for Phase {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::Phase;

    #[test]
    fn every_phase_is_found_by_its_name_and_names_are_distinct() {
        for &phase in Phase::ALL {
            assert_eq!(phase.name().parse::<Phase>(), Ok(phase));
        }
        let mut names: Vec<&str> = Phase::ALL.iter().map(|p| p.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Phase::ALL.len());
        assert!("deploy".parse::<Phase>().unwrap_err().contains("preflight"));
    }
}
