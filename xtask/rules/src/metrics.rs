//! Lambda's per-version metrics as CloudWatch publishes them (`Invocations` and `Errors` of
//! `function:alias` by `ExecutedVersion`): what the local data plane counts and what a rollout
//! judges, one type for both.
use std::{fmt, time::Duration};

use serde::{Deserialize, Serialize};

/// How late Lambda's datapoints reach CloudWatch: about a minute after their period ("Lambda
/// sends metric data to CloudWatch in 1-minute intervals",
/// <https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics.html>). The simulation's
/// CloudWatch is late by a drawn share of it; the local cloud's front is not late.
pub const LAG: Duration = Duration::from_secs(60);

/// The period of Lambda's metrics ("in 1-minute intervals", the same page), so the shortest
/// window an alarm on them evaluates: after green moves, such an alarm still judges what green
/// served before for this long, once the datapoints' [`LAG`] has passed.
pub const PERIOD: Duration = Duration::from_secs(60);

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
