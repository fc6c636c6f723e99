//! What a rollout watches on green, each signal attributed to the version that answered:
//! synthetic probes (the app names its version in `x-app-version`) and real traffic
//! (Lambda's invocations and errors by executed version, behind [`Traffic`]); and the one
//! rule that judges them against deploy.toml's `[rollout]` thresholds. Pure but for the
//! trait: the rollout phase does the I/O.
use std::{
    collections::BTreeMap,
    fmt,
    future::Future,
    pin::Pin,
    time::{Duration, SystemTime},
};

use anyhow::Result;
use serde::Serialize;

use crate::config::Rollout;

/// Invocations and failed ones: the data plane's type, which CloudWatch's figures fill too.
pub use bgd_rules::metrics::{Counts, LAG as METRICS_LAG};

/// How long after green last moved an alarm on its metrics may still judge what green served
/// before: the datapoints' `lag`, an alarm's shortest window (one period of Lambda's metrics),
/// and the second the move fell in (datapoints are stamped by the second).
pub fn alarm_memory(lag: Duration) -> Duration {
    lag + bgd_rules::metrics::PERIOD + Duration::from_secs(1)
}

pub type Reading<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// What CloudWatch says about green: real traffic through one alias by the version that ran
/// it (Lambda's `Invocations` and `Errors` of `function:alias` by `ExecutedVersion`), and the
/// states of alarms. A trait object: the pipeline holds one when the cloud has it (the
/// simulation has none).
pub trait Traffic: Send + Sync {
    /// For each of `versions`, its counts summed from `since` on.
    fn by_version<'a>(
        &'a self,
        function: &'a str,
        alias: &'a str,
        versions: &'a [String],
        since: SystemTime,
    ) -> Reading<'a, BTreeMap<String, Counts>>;
    /// Which of the alarms `names` are in state ALARM; an error names one that does not exist.
    fn alarming<'a>(&'a self, names: &'a [String]) -> Reading<'a, Vec<String>>;
    /// How late counts reach this source after their period: a rollout's last window is
    /// watched this much longer, so its real traffic is judged before the rollout ends.
    fn lag(&self) -> Duration;
}

/// A signal over its threshold: which, for which version, and its counts (or the alarm).
#[derive(Debug, Clone, Serialize)]
pub struct Breach {
    pub signal: Signal,
    pub version: String,
    pub counts: Counts,
    /// The alarm in ALARM, for [`Signal::Alarm`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alarm: Option<String>,
    /// Why CloudWatch could not be read, for [`Signal::Unreadable`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Breach {
    /// An alarm of deploy.toml's went into ALARM while `version` was rolling out.
    pub fn alarm(name: &str, version: &str) -> Self {
        Self {
            signal: Signal::Alarm,
            version: version.to_owned(),
            counts: Counts::default(),
            alarm: Some(name.to_owned()),
            error: None,
        }
    }

    /// CloudWatch (real traffic, alarms) could not be read for too long while `version` was
    /// rolling out: green is not watched, so it goes back as on a breach.
    pub fn unreadable(error: &anyhow::Error, version: &str) -> Self {
        Self {
            signal: Signal::Unreadable,
            version: version.to_owned(),
            counts: Counts::default(),
            alarm: None,
            error: Some(format!("{error:#}")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// GET /health through the green stage, during the shift and the bake.
    SyntheticProbes,
    /// Everyone else's requests through green.
    RealTraffic,
    /// A CloudWatch alarm deploy.toml's `[rollout] alarms` names.
    Alarm,
    /// CloudWatch could not be read: real traffic and alarms unwatched.
    Unreadable,
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::SyntheticProbes => "synthetic probes",
            Self::RealTraffic => "real traffic",
            Self::Alarm => "alarm",
            Self::Unreadable => "CloudWatch unreadable",
        })
    }
}

impl fmt::Display for Breach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(error) = &self.error {
            return write!(
                f,
                "CloudWatch could not be read while version {} rolls out, so real traffic and alarms were not watched ({error})",
                self.version
            );
        }
        if let Some(alarm) = &self.alarm {
            return write!(
                f,
                "alarm {alarm} is in ALARM while version {} rolls out",
                self.version
            );
        }
        write!(
            f,
            "{} on version {}: {} requests",
            self.signal, self.version, self.counts
        )
    }
}

/// The rule: once a version has `min_requests` answers on a signal, more than `error_rate`
/// of them failing is a breach. Fewer answers are not judged (one failure of three is noise).
pub fn judge(signal: Signal, version: &str, counts: Counts, rollout: &Rollout) -> Option<Breach> {
    let enough = counts.invocations >= rollout.min_requests.max(1);
    // errors / invocations > rate, without dividing by zero.
    let over = counts.errors as f64 > rollout.error_rate * counts.invocations as f64;
    (enough && over).then(|| Breach {
        signal,
        version: version.to_owned(),
        counts,
        alarm: None,
        error: None,
    })
}

/// A probe's answer as the signal counts it: the version the app named (`None` when nothing
/// answered for the app: API Gateway's 502, a refused connection) and whether it failed.
/// An answer no version claims is put on `candidate`: green served without trouble before it
/// joined, so trouble now is the candidate's until shown otherwise.
pub(crate) fn attribute(
    app_version: Option<&str>,
    failed: bool,
    candidate: &str,
) -> (String, bool) {
    (app_version.unwrap_or(candidate).to_owned(), failed)
}

#[cfg(test)]
mod tests {
    use super::{Counts, Signal, attribute, judge};
    use crate::config::Rollout;

    fn counts(invocations: u64, errors: u64) -> Counts {
        Counts {
            invocations,
            errors,
        }
    }

    #[test]
    fn a_version_is_judged_only_once_it_served_enough_and_then_by_its_rate() {
        let rollout = Rollout {
            error_rate: 0.1,
            min_requests: 20,
            ..Rollout::default()
        };
        let judged = |c| judge(Signal::RealTraffic, "7", c, &rollout);
        assert!(judged(counts(19, 19)).is_none(), "too few to judge");
        assert!(
            judged(counts(20, 2)).is_none(),
            "at the rate is not over it"
        );
        let breach = judged(counts(20, 3)).expect("over the rate");
        assert_eq!(
            breach.to_string(),
            "real traffic on version 7: 3 of 20 failed requests"
        );
        assert!(judged(counts(0, 0)).is_none());
    }

    #[test]
    fn a_zero_error_rate_breaks_on_the_first_failure_once_judged() {
        let rollout = Rollout {
            error_rate: 0.0,
            min_requests: 1,
            ..Rollout::default()
        };
        assert!(judge(Signal::SyntheticProbes, "2", counts(1, 1), &rollout).is_some());
        assert!(judge(Signal::SyntheticProbes, "2", counts(50, 0), &rollout).is_none());
    }

    #[test]
    fn an_answer_no_version_claims_counts_against_the_candidate() {
        assert_eq!(attribute(None, true, "8"), ("8".to_owned(), true));
        assert_eq!(attribute(Some("7"), false, "8"), ("7".to_owned(), false));
    }
}
