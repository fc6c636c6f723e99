//! The shift, bake and revert phases: after blue verified N, green's routing configuration
//! gives N its share step by step (the old version keeps the rest), each step one write
//! guarded by the RevisionId the last one returned; then promote puts green on N alone; then
//! the bake watches it. Throughout, synthetic probes and real traffic are judged per version
//! ([`health`]); a breach puts green back on the old version alone in one guarded write,
//! records N as failed and ends the run with exit 7. What a run finds that an earlier one left
//! unfinished (a bake, a split, a failed version) is settled in `recover.rs`.
mod plan;
mod recover;
mod resume;
mod watch;

use std::time::{Duration, SystemTime};

use anyhow::{Result, bail};

pub use self::plan::{Plan, Watched};
use self::watch::{Ending, Watch};
pub(crate) use self::{plan::BEFORE_ROLLOUT, resume::under_way};
use super::{Candidate, Cloud, Ctx, GREEN, Phase, Promote};
use crate::{
    cloud::{Alias, AliasTarget, RestApi},
    config::show_duration,
    health::Breach,
    image::Registry,
    ledger::{self, Promotion, Rolling},
    outcome::{Exit, refuse},
    secret::Secret,
};

/// Where a rollout begins: at its first step, or (resumed) at the step an earlier run
/// stopped in, whose write landed at `step_at`.
#[derive(Debug, Clone, Copy)]
struct Start {
    step: usize,
    step_at: Option<u64>,
    /// When the rollout began (epoch seconds): real traffic counts from there.
    since: u64,
}

impl Start {
    /// The first step now, or where the rollout an earlier run began stopped.
    fn of(resumed: Option<&Rolling>) -> Self {
        resumed.map_or_else(
            || Self {
                step: 0,
                step_at: None,
                since: ledger::epoch_seconds(),
            },
            |r| Self {
                step: r.step,
                step_at: Some(r.step_at),
                since: r.since,
            },
        )
    }
}

/// The shift's plan and progress: each step's weight and watch, where this run begins, the
/// old version and the new, and green's record before the rollout with the rollout's own.
struct Shift<'a> {
    steps: &'a [(f64, Duration)],
    start: Start,
    versions: [&'a str; 2],
    record: (&'a Promotion, Rolling),
}

/// Where a rollout that ran out of time stopped, for the report and the next run.
fn handed_off(green: &Alias, new: &str) -> String {
    let at = match green.target.additional_weights.get(new) {
        Some(weight) => format!(
            "green {}% on version {new}, the rest on {}",
            (weight * 100.0).round(),
            green.target.version
        ),
        None => format!("green baking version {new}"),
    };
    format!("{at}; `cargo xtask resume` carries the rollout on")
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
    /// on a breach; with `--hand-off`, stops where its time runs out (green split or baking,
    /// the rollout's progress in green's record). `resumed`: the rollout an earlier run began,
    /// carried on from its step ([`Self::resume`]). Returns what it watched; a breach is an
    /// error with exit 7.
    pub(crate) async fn roll_out(
        &self,
        (api, token): (&RestApi, &Secret),
        green: &Alias,
        candidate: Candidate<'_>,
        (plan, resumed): (Plan, Option<&Rolling>),
        registry: (&C::Registry, &str),
    ) -> Result<Watched> {
        let start = Start::of(resumed);
        let mut seen = Watched {
            strategy: plan.strategy.to_string(),
            ..Watched::default()
        };
        let lag = self.metrics_lag();
        self.note_signals(lag);
        let (steps, bake) = plan.watched(lag);
        let old = green.target.version.clone();
        let new = candidate.version.to_string();
        // Green's record before the rollout: what each shift write carries beside the
        // rollout's progress, and what a revert puts back.
        let before = Promotion::parse(&green.description).map_or_else(
            |_| Promotion::alone(old.parse().unwrap_or_default()),
            |record| record.settled(),
        );
        let rolling = Rolling {
            to: candidate.version,
            strategy: plan.strategy.to_string(),
            bake: plan.bake.as_secs(),
            step: start.step,
            step_at: 0,
            since: start.since,
        };
        let mut watch = Watch::new(
            self.stage_url(api, GREEN),
            [old.clone(), new.clone()],
            SystemTime::UNIX_EPOCH + Duration::from_secs(start.since),
            &mut seen,
        );
        let lock = Some((api, token));
        let steps = Shift {
            steps: &steps,
            start,
            versions: [&old, &new],
            record: (&before, rolling),
        };
        let (mut current, mut ending) = self.shift(&mut watch, green, steps, lock).await?;
        if matches!(ending, Ending::Passed) {
            (current, ending) = self
                .promote_and_bake((api, token), &mut watch, &current, candidate, bake)
                .await?;
        }
        let first_error = watch.first_error;
        let started = watch.started;
        seen.seconds = started.elapsed().as_secs_f64();
        match ending {
            Ending::Passed => Ok(seen),
            Ending::OutOfTime => {
                seen.handed_off = Some(handed_off(&current, &new));
                Ok(seen)
            }
            Ending::Breach(breach) => {
                let green_before = (old.as_str(), before.to_description());
                self.revert(
                    (&current, lock),
                    (green_before.0, &green_before.1),
                    candidate,
                    &breach,
                    registry,
                )
                .await?;
                seen.first_error_to_revert_s = first_error.map(|t| t.elapsed().as_secs_f64());
                seen.seconds = started.elapsed().as_secs_f64();
                seen.breach = Some(breach.clone());
                Err(refuse(
                    Exit::RolledBack,
                    format!("{}; {seen}", rolled_back(&breach, &old, &new)),
                ))
            }
        }
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

    /// The shift phases: green split between the old version and the new, each step (its
    /// weight and how long it is watched) one write guarded by the RevisionId the last one
    /// returned, recording the step in green's record, then watched; a resumed step is only
    /// watched, for what is left of it. The first breach, or the hand-off time, ends the shift.
    /// Returns green as last written and how the shift ended.
    async fn shift(
        &self,
        watch: &mut Watch<'_>,
        green: &Alias,
        shift: Shift<'_>,
        lock: Lock<'_>,
    ) -> Result<(Alias, Ending)> {
        let [old, new] = shift.versions;
        let (before, rolling) = shift.record;
        let mut current = green.clone();
        for (step, &(weight, hold)) in shift.steps.iter().enumerate().skip(shift.start.step) {
            let resumed = shift.start.step_at.filter(|_| step == shift.start.step);
            let span = if let Some(at) = resumed {
                let end = at.saturating_add(hold.as_secs());
                Duration::from_secs(end.saturating_sub(ledger::epoch_seconds()))
            } else {
                let split = AliasTarget {
                    version: old.to_owned(),
                    additional_weights: [(new.to_owned(), weight)].into(),
                };
                // The step and its start go with the write: a run killed or out of time after
                // it leaves what a later run needs to take the next step.
                let record = Promotion {
                    baking: None,
                    rolling: Some(Rolling {
                        step,
                        step_at: ledger::epoch_seconds(),
                        ..rolling.clone()
                    }),
                    ..before.clone()
                };
                self.still_rolling(lock).await?;
                let record = record.to_description();
                let write = self.guarded_green(&current, &split, Some(&record));
                current = self.progress.phase(Phase::Shift, write).await?;
                hold
            };
            self.progress.note(format_args!(
                "green: {}% on version {new}, the rest on {old}; watching for {}",
                (weight * 100.0).round(),
                show_duration(span)
            ));
            let ending = self.watch_for(watch, span).await?;
            if !matches!(ending, Ending::Passed) {
                return Ok((current, ending));
            }
        }
        Ok((current, Ending::Passed))
    }

    /// The promote phase, then the bake when `bake` is not zero. Returns green as last written
    /// and how the bake ended.
    async fn promote_and_bake(
        &self,
        (api, token): (&RestApi, &Secret),
        watch: &mut Watch<'_>,
        current: &Alias,
        candidate: Candidate<'_>,
        bake: Duration,
    ) -> Result<(Alias, Ending)> {
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
            return Ok((promoted, Ending::Passed));
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

    /// The bake phase: green on the candidate alone, watched for `span`; when it passed,
    /// green's record no longer says it bakes (one guarded write); out of time, it still says
    /// so for the next run. Returns green as last written and how the bake ended.
    async fn bake(
        &self,
        watch: &mut Watch<'_>,
        green: Alias,
        span: Duration,
        lock: Lock<'_>,
    ) -> Result<(Alias, Ending)> {
        let bake = async {
            let ending = self.watch_for(watch, span).await?;
            if !matches!(ending, Ending::Passed) {
                return Ok((green, ending));
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
            anyhow::Ok((baked, Ending::Passed))
        };
        self.progress.phase(Phase::Bake, bake).await
    }

    /// Green back on `old` alone, if this run still holds `lock`, in one write guarded by the
    /// RevisionId of the last write; then the candidate's image is tagged `failed-image-HEX`
    /// and its publication `failed-N-FP`. The write puts back `record`, green's record from before the rollout: in
    /// the bake green's record names N, and a plain rollback then goes where it would have
    /// before, not to the version that just failed; in the shift it names the rollout under
    /// way, which is over.
    async fn revert(
        &self,
        (current, lock): (&Alias, Lock<'_>),
        (old, record): (&str, &str),
        candidate: Candidate<'_>,
        breach: &Breach,
        (registry, repository): (&C::Registry, &str),
    ) -> Result<()> {
        // A revert is a write of green too: not under another run's lock (a resumed bake's
        // revert landed under the lock of a run that took its expired one over: seed 1888).
        self.still_rolling(lock)
            .await
            .map_err(|e| e.context(format!("{breach}: green was not put back")))?;
        self.progress
            .phase(Phase::Revert, async {
                let target = AliasTarget::version(old);
                self.guarded_green(current, &target, Some(record)).await?;
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
