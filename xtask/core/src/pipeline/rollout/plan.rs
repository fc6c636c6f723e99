//! A rollout's plan (strategy and bake) and what it watched, as the report shows it.
use std::{
    collections::BTreeMap,
    time::{Duration, UNIX_EPOCH},
};

use anyhow::{Result, bail};
use serde::Serialize;
use tokio::time::Instant;

use crate::{
    config::{Rollout, Strategy, show_duration},
    health::{Breach, Counts},
    ledger,
    pipeline::{Cloud, Ctx},
};

/// What a deploy's phases before its rollout (push, update, publish, verification on blue)
/// take on AWS at the least, so a plan with less time left than this and its own length cannot
/// finish: it would be reverted at the deadline after its canary served users.
pub(crate) const BEFORE_ROLLOUT: Duration = Duration::from_secs(3 * 60);

/// How this run rolls out, from `deploy --strategy/--bake` or deploy.toml's `[rollout]`.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub strategy: Strategy,
    pub bake: Duration,
}

impl Plan {
    /// deploy.toml's `[rollout]`.
    pub fn configured(rollout: &Rollout) -> Self {
        Self {
            strategy: rollout.strategy,
            bake: rollout.bake,
        }
    }

    /// All at once with no bake: a plain promote (a rollback's).
    pub(crate) fn at_once() -> Self {
        Self {
            strategy: Strategy::AllAtOnce,
            bake: Duration::ZERO,
        }
    }

    /// All at once with no bake is a plain promote: nothing to watch.
    pub fn watches(&self) -> bool {
        self.strategy != Strategy::AllAtOnce || !self.bake.is_zero()
    }

    /// Each step's weight and how long it is watched, then how long the bake is: the last of
    /// them longer by `lag` (how late real traffic reaches its source), so the rollout's final
    /// window is judged on real traffic before green is promoted or the bake ends. On AWS a
    /// last step shorter than CloudWatch's delay was promoted before one of its invocations was
    /// counted (aws-audit-3 N9).
    pub fn watched(&self, lag: Duration) -> (Vec<(f64, Duration)>, Duration) {
        let mut steps = self.strategy.steps();
        let mut bake = self.bake;
        if !bake.is_zero() {
            bake += lag;
        } else if let Some((_, hold)) = steps.last_mut() {
            *hold += lag;
        }
        (steps, bake)
    }

    /// How long the rollout watches, its source's `lag` included: every step, then the bake.
    pub fn length(&self, lag: Duration) -> Duration {
        let (steps, bake) = self.watched(lag);
        steps.iter().map(|(_, hold)| *hold).sum::<Duration>() + bake
    }
}

impl<C: Cloud> Ctx<C> {
    /// Refuses, before anything is written, a rollout that cannot finish before the run ends
    /// (`--timeout`, or the credentials' expiry): it would be reverted at the deadline every
    /// time, after its canary served users (aws-audit-3 N2: 5 of the 8 CodeDeploy plans the
    /// README accepts never completed at the default 900 s). `before` is what the run does
    /// first (a deploy's push and verification; nothing for a promote).
    pub(crate) fn check_plan_fits(&self, plan: Plan, before: Duration) -> Result<()> {
        // `--hand-off`: the run stops short of its deadline and a later one carries on.
        if !plan.watches() || self.hand_off {
            return Ok(());
        }
        let length = plan.length(self.metrics_lag());
        let need = before + length;
        let left = self.deadline.saturating_duration_since(Instant::now());
        if need <= left {
            return Ok(());
        }
        // The deadline is --timeout's, or sooner the credentials' (less a reserve for cleanup).
        let bound = self.credentials_expire.map_or_else(String::new, |at| {
            let epoch = at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
            format!(
                " (the sooner of --timeout and its credentials' expiry at {}, AWS_CREDENTIAL_EXPIRATION)",
                ledger::rfc3339(epoch)
            )
        });
        let first = if before.is_zero() {
            String::new()
        } else {
            format!(
                " and the deploy's push and verification before it at least {}",
                show_duration(before)
            )
        };
        bail!(
            "the rollout {} with bake {} watches for {}{first}, but this run ends in {}{bound}: run with --timeout {} or more and credentials that last as long (raise the CI step's timeout-minutes and the role's session, role-duration-seconds, with it), or pass --hand-off to stop before the deadline and let `cargo xtask resume` carry the rollout on, or choose a shorter plan (--strategy, --bake, deploy.toml's [rollout]); nothing was changed",
            plan.strategy,
            show_duration(plan.bake),
            show_duration(length),
            show_duration(left),
            need.as_secs().div_ceil(60) * 60,
        )
    }
}

/// What the rollout saw, for the report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Watched {
    pub strategy: String,
    /// Synthetic probes through green by the version that answered.
    pub probes: BTreeMap<String, Counts>,
    /// Real traffic through green by executed version; `None` where no source is wired in.
    pub traffic: Option<BTreeMap<String, Counts>>,
    /// The breach that rolled green back.
    pub breach: Option<Breach>,
    /// From the new version's first failure seen to green back on the old version alone.
    pub first_error_to_revert_s: Option<f64>,
    pub seconds: f64,
    /// Where the rollout stopped when this run's time ran out (`--hand-off`): green split or
    /// baking, for `resume` to carry on.
    pub handed_off: Option<String>,
}

impl std::fmt::Display for Watched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rollout {} over {:.1}s", self.strategy, self.seconds)?;
        for (version, counts) in &self.probes {
            write!(f, "; probes on {version}: {counts}")?;
        }
        // Lambda's `Errors`: function errors only, not the HTTP 5xx an app answers itself
        // (adversarial-3 m3: "0 of 3450 failed" while 2,192 were HTTP 500s).
        for (version, counts) in self.traffic.iter().flatten() {
            write!(
                f,
                "; invocations of {version}: {} of {} were function errors",
                counts.errors, counts.invocations
            )?;
        }
        if let Some(seconds) = self.first_error_to_revert_s {
            write!(f, "; first failure seen to green reverted: {seconds:.1}s")?;
        }
        if let Some(at) = &self.handed_off {
            write!(f, "; handed off, this run's time being up: {at}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Plan;

    /// aws-audit-3 N9: the last step was promoted as its time was up, before CloudWatch had
    /// any of its invocations; now the last window (the last step, or the bake) lasts the
    /// source's lag longer, and only it.
    #[test]
    fn the_last_window_is_watched_as_long_as_real_traffic_comes_late() {
        let minutes = |m: u64| Duration::from_secs(60 * m);
        let lag = minutes(2);
        let linear = Plan {
            strategy: "linear:25:1m".parse().unwrap(),
            bake: Duration::ZERO,
        };
        let steps = vec![(0.25, minutes(1)), (0.5, minutes(1)), (0.75, minutes(3))];
        assert_eq!(linear.watched(lag), (steps, Duration::ZERO));
        let baked = Plan {
            bake: minutes(5),
            ..linear
        };
        assert_eq!(baked.watched(lag), (linear.strategy.steps(), minutes(7)));
        assert_eq!(baked.length(lag), minutes(10));
        assert_eq!(baked.length(Duration::ZERO), minutes(8));
    }
}
