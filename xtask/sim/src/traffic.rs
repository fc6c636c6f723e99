//! Traffic in the simulated world: the users whose requests reach green, Lambda's metrics of
//! every invocation through an alias (`Invocations` and `Errors` by `ExecutedVersion`, as
//! `bgd_rules::metrics` counts them), CloudWatch's view of those metrics, which arrives late
//! as on AWS, and the one alarm the simulation's deploy.toml may name. [`SimCloudWatch`] is the
//! pipeline's `Traffic`, its calls faulted like every other.
use std::{
    collections::BTreeMap,
    time::{Duration, SystemTime},
};

use rand::{Rng, rngs::SmallRng};

use super::{app, aws::not_found, cloud::SimCloud, world::World};
use bgd_core::{
    cloud::Operation,
    health::{Counts, Reading, Traffic as TrafficSource},
    pipeline::GREEN as GREEN_ALIAS,
};

/// The alarm the simulation's deploy.toml may name: green's function errors, all versions.
pub(crate) const ALARM: &str = "sim-green-errors";
/// The alarm looks at the last period CloudWatch has (one minute).
const ALARM_WINDOW_S: u64 = bgd_rules::metrics::PERIOD.as_secs();
/// At least this many errors, and more than a tenth of the invocations, put it in ALARM.
const ALARM_ERRORS: u64 = 5;

/// The longest lag drawn: AWS's about a minute ([`bgd_rules::metrics::LAG`]) scaled down, so
/// that rollouts of seconds meet both sides of it.
const MAX_LAG: Duration = Duration::from_secs(bgd_rules::metrics::LAG.as_secs() / 6);

/// The users and the metrics of a run.
pub(crate) struct Traffic {
    /// Users' requests through green per virtual second.
    users_per_s: u32,
    /// How many seconds after its period a datapoint reaches CloudWatch (on AWS about a
    /// minute: `bgd_rules::metrics::LAG`); drawn shorter here so that rollouts of seconds meet
    /// both sides of it.
    lag_s: u64,
    /// Until which virtual second the users have sent their requests.
    sent_until: u64,
    /// Alias the integration named → version that ran → epoch second → counts in that
    /// second: nested, so that counting a request finds its series without building a key.
    counts: BTreeMap<String, BTreeMap<String, BTreeMap<u64, Counts>>>,
}

impl Traffic {
    pub(crate) fn draw(rng: &mut SmallRng) -> Self {
        Self {
            users_per_s: rng.random_range(2..12),
            lag_s: rng.random_range(0..=MAX_LAG.as_secs()),
            sent_until: 0,
            counts: BTreeMap::new(),
        }
    }

    /// Users sending `users_per_s` requests a second, their metrics `lag_s` late: a scenario's
    /// world, set exactly.
    #[cfg(test)]
    pub(crate) fn steady(users_per_s: u32, lag_s: u64) -> Self {
        Self {
            users_per_s,
            lag_s,
            sent_until: 0,
            counts: BTreeMap::new(),
        }
    }

    pub(crate) fn record_at(&mut self, second: u64, alias: &str, version: &str, failed: bool) {
        let by_version = match self.counts.get_mut(alias) {
            Some(by_version) => by_version,
            None => self.counts.entry(alias.to_owned()).or_default(),
        };
        let series = match by_version.get_mut(version) {
            Some(series) => series,
            None => by_version.entry(version.to_owned()).or_default(),
        };
        series.entry(second).or_default().add(failed);
    }

    /// The counts of `alias` by version that CloudWatch has now, from `since` on.
    fn published(&self, alias: &str, since: u64, now: u64) -> BTreeMap<String, Counts> {
        let until = now.saturating_sub(self.lag_s);
        let mut by_version = BTreeMap::<String, Counts>::new();
        for (version, series) in self.counts.get(alias).into_iter().flatten() {
            let total = by_version.entry(version.clone()).or_default();
            for counts in series.range(since..until.max(since)).map(|(_, c)| c) {
                total.invocations += counts.invocations;
                total.errors += counts.errors;
            }
        }
        by_version
    }

    /// Whether [`ALARM`] is in ALARM by what CloudWatch has now.
    pub(crate) fn alarm_fires(&self, now: u64) -> bool {
        let since = now.saturating_sub(self.lag_s + ALARM_WINDOW_S);
        let all = self.published(GREEN_ALIAS, since, now).into_values().fold(
            Counts::default(),
            |a, c| Counts {
                invocations: a.invocations + c.invocations,
                errors: a.errors + c.errors,
            },
        );
        all.errors >= ALARM_ERRORS && all.errors * 10 > all.invocations
    }

    /// How long after trouble ends the alarm may still fire: its window and CloudWatch's lag.
    pub(crate) fn alarm_memory_s(&self) -> u64 {
        self.lag_s + ALARM_WINDOW_S + 1
    }
}

impl World {
    /// The users' requests through green up to now, a second's worth at a time: each routed as
    /// the data plane routes it, answered by that version's app.
    pub(crate) fn users_until_now(&mut self) {
        let now_s = self.now() / 1000;
        if self.traffic.sent_until >= now_s {
            return;
        }
        // How each version green may route to answers: resolved once, not per request.
        let routes: Vec<(String, f64)> = self
            .routes_of(GREEN_ALIAS)
            .into_iter()
            .chain(
                self.lambda
                    .aliases
                    .get(GREEN_ALIAS)
                    .and_then(|a| a.previous.clone())
                    .map(|(v, _)| v),
            )
            .map(|version| {
                let fails = app::user_failure_rate(self, &version);
                (version, fails)
            })
            .collect();
        let epoch_now = self.epoch_s();
        while self.traffic.sent_until < now_s {
            self.traffic.sent_until += 1;
            let second = epoch_now - (now_s - self.traffic.sent_until);
            for _ in 0..self.traffic.users_per_s {
                let Some(version) = self.routed(GREEN_ALIAS) else {
                    return;
                };
                let rate = routes
                    .iter()
                    .find(|(v, _)| *v == version)
                    .map_or(1.0, |(_, rate)| *rate);
                let failed = rate > 0.0 && self.rng.random_bool(rate);
                self.traffic
                    .record_at(second, GREEN_ALIAS, &version, failed);
            }
        }
    }
}

/// CloudWatch as the pipeline reads it, through one actor's handle on the world.
pub(crate) struct SimCloudWatch(pub(crate) SimCloud);

impl TrafficSource for SimCloudWatch {
    fn by_version<'a>(
        &'a self,
        _function: &'a str,
        alias: &'a str,
        versions: &'a [String],
        since: SystemTime,
    ) -> Reading<'a, BTreeMap<String, Counts>> {
        let since = since
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Box::pin(async move {
            let counts = self
                .0
                .cloud(Operation::GetMetricData, alias, move |w, _| {
                    let published = w.traffic.published(alias, since, w.epoch_s());
                    Ok(versions
                        .iter()
                        .map(|v| (v.clone(), published.get(v).copied().unwrap_or_default()))
                        .collect())
                })
                .await?;
            Ok(counts)
        })
    }

    fn alarming<'a>(&'a self, names: &'a [String]) -> Reading<'a, Vec<String>> {
        Box::pin(async move {
            let firing = self
                .0
                .cloud(Operation::DescribeAlarms, "alarms", move |w, _| {
                    let op = Operation::DescribeAlarms;
                    match names.iter().find(|n| *n != ALARM) {
                        Some(unknown) => Err(not_found(op, unknown)),
                        None => Ok(w.traffic.alarm_fires(w.epoch_s())),
                    }
                })
                .await?;
            Ok(if firing { names.to_vec() } else { Vec::new() })
        })
    }

    /// As on AWS, the pipeline knows how late the datapoints may come, not this world's draw.
    fn lag(&self) -> Duration {
        MAX_LAG
    }
}
