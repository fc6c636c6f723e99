//! The shift, bake and revert phases: after blue verified N, green's routing configuration
//! gives N its share step by step (the old version keeps the rest), each step one write
//! guarded by the RevisionId the last one returned; then promote puts green on N alone; then
//! the bake watches it. Throughout, synthetic probes and real traffic are judged per version
//! ([`health`]); a breach puts green back on the old version alone in one guarded write,
//! records N as failed and ends the run with exit 7. What a run finds that an earlier one left
//! unfinished (a bake, a split, a failed version) is settled in `recover.rs`.
mod plan;
mod recover;

use std::{
    collections::BTreeMap,
    time::{Duration, SystemTime},
};

use anyhow::{Result, bail};
use tokio::time::Instant;

pub(crate) use self::plan::BEFORE_ROLLOUT;
pub use self::plan::{Plan, Watched};
use super::{Candidate, Cloud, Ctx, GREEN, Phase, Promote};
use crate::{
    cloud::{Alias, AliasTarget, RestApi},
    config::show_duration,
    health::{self, Breach, Signal, Traffic},
    image::Registry,
    ledger::{self, Promotion},
    outcome::{Exit, refuse},
    probe::Endpoint,
    progress::Progress,
    secret::Secret,
};

/// How often green is probed and CloudWatch read (4 metrics and the alarms a second: about
/// a cent of GetMetricData per 4 minutes of rollout; read every 5 s, a bad canary's failed
/// requests on the local cloud went from 2 % to 7 % of all).
const TICK: Duration = Duration::from_secs(1);
/// Synthetic probes per tick: at a 10% canary, about one a second reaches the new version.
const PROBES_PER_TICK: usize = 10;
/// How long CloudWatch may stay unreadable during a rollout before green goes back.
const BLIND_LIMIT: Duration = Duration::from_secs(10);

/// The watch over one rollout: its start (traffic counts from there) and what it saw.
struct Watch<'a> {
    green: Endpoint,
    /// The old version and the candidate: the versions whose traffic is read.
    versions: [String; 2],
    candidate: String,
    since: SystemTime,
    started: Instant,
    first_error: Option<Instant>,
    /// Since when CloudWatch could not be read, while it cannot.
    blind_since: Option<Instant>,
    seen: &'a mut Watched,
}

impl<'a> Watch<'a> {
    /// A watch of green (at `green_url`) moving from `old` to `candidate`, its real traffic
    /// counted from `since`.
    fn new(
        green_url: String,
        [old, candidate]: [String; 2],
        since: SystemTime,
        seen: &'a mut Watched,
    ) -> Self {
        Self {
            green: Endpoint {
                url: green_url,
                token: None,
            },
            candidate: candidate.clone(),
            versions: [old, candidate],
            since,
            started: Instant::now(),
            first_error: None,
            blind_since: None,
            seen,
        }
    }
}

/// The lock a rollout runs under: its API and this run's token (`None` for a resumed bake).
type Lock<'a> = Option<(&'a RestApi, &'a Secret)>;

/// What a reverted rollout says (exit 7).
fn rolled_back(breach: &Breach, old: &str, new: &str) -> String {
    format!(
        "rolled back: {breach}; green is back on version {old} alone, and version {new} is recorded as failed (deploy it again only with --force)"
    )
}

impl<C: Cloud> Ctx<C> {
    /// Shifts green from its version to `candidate` as `plan` says, promotes, bakes; reverts
    /// on a breach. Returns what it watched; a breach is an error with exit 7.
    pub(crate) async fn roll_out(
        &self,
        api: &RestApi,
        token: &Secret,
        green: &Alias,
        candidate: Candidate<'_>,
        plan: Plan,
        (registry, repository): (&C::Registry, &str),
    ) -> Result<Watched> {
        let mut seen = Watched {
            strategy: plan.strategy.to_string(),
            ..Watched::default()
        };
        let lag = self.metrics_lag();
        self.note_signals(lag);
        let (steps, bake) = plan.watched(lag);
        let old = green.target.version.clone();
        let new = candidate.version.to_string();
        let mut watch = Watch::new(
            self.stage_url(api, GREEN),
            [old.clone(), new.clone()],
            ledger::system_now(),
            &mut seen,
        );
        let lock = Some((api, token));
        let (mut current, mut breach) = self
            .shift(&mut watch, green, steps, [&old, &new], lock)
            .await?;
        if breach.is_none() {
            (current, breach) = self
                .promote_and_bake((api, token), &mut watch, &current, candidate, bake)
                .await?;
        }
        let first_error = watch.first_error;
        let started = watch.started;
        if let Some(breach) = breach {
            // A revert is a write of green too: not under another run's lock.
            self.still_rolling(lock)
                .await
                .map_err(|e| e.context(format!("{breach}: green was not put back")))?;
            let green_before = (old.as_str(), green.description.as_str());
            self.revert(
                &current,
                green_before,
                candidate,
                &breach,
                (registry, repository),
            )
            .await?;
            seen.first_error_to_revert_s = first_error.map(|t| t.elapsed().as_secs_f64());
            seen.seconds = started.elapsed().as_secs_f64();
            seen.breach = Some(breach.clone());
            return Err(refuse(
                Exit::RolledBack,
                format!("{}; {seen}", rolled_back(&breach, &old, &new)),
            ));
        }
        seen.seconds = started.elapsed().as_secs_f64();
        Ok(seen)
    }

    /// How late real traffic reaches this cloud's CloudWatch; none without one.
    pub(crate) fn metrics_lag(&self) -> Duration {
        self.traffic.as_ref().map_or(Duration::ZERO, |t| t.lag())
    }

    /// Says what this rollout cannot judge by: no real traffic or alarms on a cloud without
    /// CloudWatch; real traffic only `lag` late where its metrics come late.
    fn note_signals(&self, lag: Duration) {
        if self.traffic.is_none() {
            self.progress.note(
                "real traffic and alarms are not watched on this cloud (it has no CloudWatch): synthetic probes only",
            );
        } else if !lag.is_zero() {
            self.progress.note(format_args!(
                "Lambda's metrics reach CloudWatch about {} late: each step's real traffic is judged as it arrives, in the steps after it, and the last step (or the bake) is watched {} longer for its own",
                show_duration(lag),
                show_duration(lag)
            ));
        }
    }

    /// The shift phases: green split between `old` and `new`, each of `steps` (its weight and
    /// how long it is watched) one write guarded by the RevisionId the last one returned, then
    /// watched; the first breach ends the shift. Returns green as last written and the breach.
    async fn shift(
        &self,
        watch: &mut Watch<'_>,
        green: &Alias,
        steps: Vec<(f64, Duration)>,
        [old, new]: [&str; 2],
        lock: Lock<'_>,
    ) -> Result<(Alias, Option<Breach>)> {
        let mut current = green.clone();
        for (weight, hold) in steps {
            let split = AliasTarget {
                version: old.to_owned(),
                additional_weights: BTreeMap::from([(new.to_owned(), weight)]),
            };
            self.still_rolling(lock).await?;
            current = self
                .progress
                .phase(Phase::Shift, self.guarded_green(&current, &split, None))
                .await?;
            self.progress.note(format_args!(
                "green: {}% on version {new}, the rest on {old}; watching for {}",
                (weight * 100.0).round(),
                show_duration(hold)
            ));
            if let Some(breach) = self.watch_for(watch, hold).await? {
                return Ok((current, Some(breach)));
            }
        }
        Ok((current, None))
    }

    /// The promote phase, then the bake when `bake` is not zero. Returns green as last written
    /// and the bake's breach.
    async fn promote_and_bake(
        &self,
        (api, token): (&RestApi, &Secret),
        watch: &mut Watch<'_>,
        current: &Alias,
        candidate: Candidate<'_>,
        bake: Duration,
    ) -> Result<(Alias, Option<Breach>)> {
        // The record says until when green bakes: a run killed meanwhile leaves that in AWS,
        // and the next run resumes the bake ([`Self::resume_bake`]).
        let baking =
            (!bake.is_zero()).then(|| ledger::epoch_seconds().saturating_add(bake.as_secs()));
        let promote = Promote::Phase {
            api,
            candidate,
            baking,
        };
        let lock = Some((api, token));
        self.still_rolling(lock).await?;
        let promoted = self.promote(current, promote).await?;
        if baking.is_none() {
            return Ok((promoted, None));
        }
        self.bake(watch, promoted, bake, lock).await
    }

    /// Before each of a rollout's writes of green: the run still holds the lock it rolls out
    /// under (`None`: a resumed bake, which holds none). A rollout that outlasted its lock (a
    /// stall, or steps longer than its TTL) wrote green under the next holder's feet: found by
    /// the simulation (a prune had taken the expired lock over when the promote landed).
    async fn still_rolling(&self, lock: Lock<'_>) -> Result<()> {
        let Some((api, token)) = lock else {
            return Ok(());
        };
        self.still_holds(api, token.expose()).await.map_err(|_| {
            refuse(
                Exit::LockHeld,
                "this run's lock expired and another run took it over mid-rollout: the rollout stops here, before its next write of green",
            )
        })
    }

    /// The bake phase: green on the candidate alone, watched for `span`; when no breach came,
    /// green's record no longer says it bakes (one guarded write). Returns green as last
    /// written and the breach.
    async fn bake(
        &self,
        watch: &mut Watch<'_>,
        green: Alias,
        span: Duration,
        lock: Lock<'_>,
    ) -> Result<(Alias, Option<Breach>)> {
        let bake = async {
            let breach = self.watch_for(watch, span).await?;
            if breach.is_some() {
                return Ok((green, breach));
            }
            self.still_rolling(lock).await?;
            let promotion = Promotion::parse(&green.description)?;
            let done = Promotion {
                baking: None,
                ..promotion
            };
            let baked = self
                .guarded_green(&green, &green.target, Some(&done.to_description()))
                .await?;
            anyhow::Ok((baked, None))
        };
        self.progress.phase(Phase::Bake, bake).await
    }

    /// Probes and reads traffic every tick for `span`; the first breach ends the watch early.
    async fn watch_for(&self, watch: &mut Watch<'_>, span: Duration) -> Result<Option<Breach>> {
        let end = Instant::now() + span;
        let rollout = &self.config.rollout;
        loop {
            for _ in 0..PROBES_PER_TICK {
                let health = &self.prober.paths().health;
                let (version, failed) = self.prober.probe(&watch.green, health).await;
                let (version, failed) =
                    health::attribute(version.as_deref(), failed, &watch.candidate);
                watch.seen.probes.entry(version).or_default().add(failed);
            }
            let mut alarm = None;
            let mut unreadable = None;
            if let Some(traffic) = &self.traffic {
                match self.read_cloudwatch(traffic.as_ref(), watch).await {
                    Ok(alarming) => {
                        alarm = alarming;
                        watch.blind_since = None;
                    }
                    Err(e) => unreadable = watch.blind(&self.progress, e, Instant::now() >= end),
                }
            }
            let candidate = &watch.candidate;
            let probes = watch
                .seen
                .probes
                .get(candidate)
                .copied()
                .unwrap_or_default();
            let traffic = watch
                .seen
                .traffic
                .as_ref()
                .and_then(|t| t.get(candidate).copied())
                .unwrap_or_default();
            if watch.first_error.is_none() && probes.errors + traffic.errors > 0 {
                watch.first_error = Some(Instant::now());
            }
            let breach = unreadable
                .or_else(|| alarm.map(|name| Breach::alarm(&name, candidate)))
                .or_else(|| health::judge(Signal::RealTraffic, candidate, traffic, rollout))
                .or_else(|| health::judge(Signal::SyntheticProbes, candidate, probes, rollout));
            if breach.is_some() || Instant::now() >= end {
                return Ok(breach);
            }
            tokio::time::sleep(TICK.min(end.saturating_duration_since(Instant::now()))).await;
        }
    }

    /// Real traffic by version into `watch`, and the first of deploy.toml's alarms in ALARM.
    async fn read_cloudwatch(
        &self,
        traffic: &dyn Traffic,
        watch: &mut Watch<'_>,
    ) -> Result<Option<String>> {
        let counts = traffic
            .by_version(self.function(), GREEN, &watch.versions, watch.since)
            .await?;
        watch.seen.traffic = Some(counts);
        let alarms = &self.config.rollout.alarms;
        if alarms.is_empty() {
            return Ok(None);
        }
        Ok(traffic.alarming(alarms).await?.into_iter().next())
    }

    /// Green back on `old` alone in one write guarded by the RevisionId of the last write;
    /// then the candidate's image is tagged `failed-image-HEX` and its publication
    /// `failed-N-FP`. In the bake green's record names N, so the write puts back `record`,
    /// green's record from before the rollout: a plain rollback then goes where it would have
    /// before, not to the version that just failed. During the shift the record still names
    /// `old` and stays.
    async fn revert(
        &self,
        current: &Alias,
        (old, record): (&str, &str),
        candidate: Candidate<'_>,
        breach: &Breach,
        (registry, repository): (&C::Registry, &str),
    ) -> Result<()> {
        self.progress
            .phase(Phase::Revert, async {
                let description = (current.target.version != old).then_some(record);
                let target = AliasTarget::version(old);
                self.guarded_green(current, &target, description).await?;
                let digest = &candidate.record.digest;
                let tags = [
                    ledger::failed_image_tag(digest),
                    ledger::failed_tag(candidate.version, candidate.description),
                ];
                for tag in &tags {
                    registry.tag(repository, digest, tag).await.map_err(|e| {
                        e.context(format!(
                            "green is back on version {old}, but recording version {} as failed ({breach}) failed",
                            candidate.version
                        ))
                    })?;
                }
                Ok(())
            })
            .await
    }

    /// One write of green guarded by `current`'s RevisionId; returns green as written.
    pub async fn guarded_green(
        &self,
        current: &Alias,
        target: &AliasTarget,
        description: Option<&str>,
    ) -> Result<Alias> {
        match self.write_green(current, target, description).await {
            Err(e) if e.is_precondition_failed() => bail!(
                "green moved since this run last wrote it (a rollback aborted the rollout, or someone else deployed): the rollout stops here; run `cargo xtask status`"
            ),
            other => Ok(other?),
        }
    }
}

impl Watch<'_> {
    /// CloudWatch could not be read (after the SDK's own retries): a read that fails for
    /// [`BLIND_LIMIT`], or still at the watch's end, is a breach, as green is not watched; one
    /// failed read does not end the run, which would leave the candidate on green unwatched and
    /// not reverted.
    fn blind(&mut self, progress: &Progress, error: anyhow::Error, ending: bool) -> Option<Breach> {
        let since = *self.blind_since.get_or_insert_with(|| {
            progress.warn(format_args!(
                "CloudWatch could not be read ({error:#}): trying again each second; green goes back if it stays unreadable for {}",
                show_duration(BLIND_LIMIT)
            ));
            Instant::now()
        });
        (ending || since.elapsed() >= BLIND_LIMIT)
            .then(|| Breach::unreadable(&error, &self.candidate))
    }
}

#[cfg(test)]
mod tests;
