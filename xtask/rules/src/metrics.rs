//! Lambda's per-version metrics as CloudWatch publishes them (`Invocations` and `Errors` of
//! `function:alias` by `ExecutedVersion`): what the local data plane counts and what a rollout
//! judges, one type for both.
use std::fmt;

use serde::{Deserialize, Serialize};

/// Invocations and function errors (errors are invocations too, as in CloudWatch): as
/// CloudWatch counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub invocations: u64,
    pub errors: u64,
}

impl Counts {
    /// One more invocation, failed or not.
    pub fn add(&mut self, failed: bool) {
        self.invocations += 1;
        self.errors += u64::from(failed);
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} of {} failed", self.errors, self.invocations)
    }
}
