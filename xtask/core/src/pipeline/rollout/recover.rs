//! What a run finds that an earlier one left unfinished, and settles before it ships: a
//! bake to resume, a split to put back on its main version, a version whose rollout failed.
use std::time::{Duration, SystemTime};

use anyhow::Result;

use super::{Ending, Lock, Watch, Watched, handed_off, rolled_back};
use crate::{
    cloud::{Alias, AliasTarget, RestApi},
    config::show_duration,
    health::Breach,
    image::Registry,
    ledger::{self, Promotion},
    outcome::{Exit, refuse},
    pipeline::{Candidate, Cloud, Ctx, GREEN},
};

impl<C: Cloud> Ctx<C> {
    /// A bake a killed run left unfinished (green's record still says it bakes): watched
    /// again until its end, its real traffic counted from the bake's start, then cleared, or
    /// reverted on a breach as the rollout would have; handed off again when this run's time
    /// runs out first (`--hand-off`). `lock`: the lock this run holds, if any.
    /// `None` when green is not baking.
    pub(crate) async fn resume_bake(
        &self,
        api: &RestApi,
        green: &Alias,
        lock: Lock<'_>,
    ) -> Result<Option<Watched>> {
        let Ok(promotion) = Promotion::parse(&green.description) else {
            return Ok(None);
        };
        let (Some(until), Some(old)) = (promotion.baking, promotion.from) else {
            return Ok(None);
        };
        let (published, record) = self.version_record(&green.target.version).await?;
        let candidate = Candidate {
            version: promotion.version,
            record: &record,
            description: &published.description,
            pin: false,
        };
        let left = Duration::from_secs(until.saturating_sub(ledger::epoch_seconds()));
        self.progress.note(format_args!(
            "green's bake of version {} did not finish (the run was interrupted): watching it for the {} left",
            promotion.version,
            show_duration(left)
        ));
        let mut seen = Watched {
            strategy: "bake (resumed)".into(),
            ..Watched::default()
        };
        // Real traffic is judged from the bake's start (the promotion), not from now: a run
        // killed as it judged a breach leaves only the counts it judged, and the next run may
        // come after the bake's end while nobody uses green (it passed a failing version).
        let since = ledger::epoch_of(&promotion.at).map_or_else(ledger::system_now, |at| {
            SystemTime::UNIX_EPOCH + Duration::from_secs(at)
        });
        let mut watch = Watch::new(
            self.stage_url(api, GREEN),
            [old.to_string(), promotion.version.to_string()],
            since,
            &mut seen,
        );
        let (green, ending) = self.bake(&mut watch, green.clone(), left, lock).await?;
        match ending {
            Ending::Passed => {}
            Ending::OutOfTime => {
                seen.handed_off = Some(handed_off(&green, &promotion.version.to_string()));
            }
            Ending::Breach(breach) => {
                self.revert_resumed((&green, lock), old, candidate, &breach)
                    .await?;
                return Err(refuse(
                    Exit::RolledBack,
                    rolled_back(&breach, &old.to_string(), &promotion.version.to_string()),
                ));
            }
        }
        Ok(Some(seen))
    }

    /// The revert phase after a resumed bake's breach: green back on `old` alone, the
    /// candidate recorded as failed, as the rollout would have.
    async fn revert_resumed(
        &self,
        green: (&Alias, Lock<'_>),
        old: u64,
        candidate: Candidate<'_>,
        breach: &Breach,
    ) -> Result<()> {
        let (registry, repository) = self.registry().await?;
        // Green's record from before the rollout is gone (the bake's replaced it): the
        // revert records none to go back to, rather than the version that just failed.
        let record = Promotion::alone(old);
        self.revert(
            green,
            (&old.to_string(), &record.to_description()),
            candidate,
            breach,
            (&registry, &repository.name),
        )
        .await
    }

    /// A split left behind (a run interrupted mid-shift, or one whose record names no rollout
    /// a later run could carry on): green back on its main version alone, in one guarded write,
    /// its record no longer saying a rollout is under way, if this run still holds its lock
    /// (`api`, `token`): a deploy whose lock a stall let expire and another run took over
    /// settled the split under that run's lock (the simulation's seed 2765). Returns green as
    /// it now is.
    pub(crate) async fn settle_split(
        &self,
        (api, token): (&RestApi, &str),
        green: Alias,
    ) -> Result<Alias> {
        if green.target.additional_weights.is_empty() {
            return Ok(green);
        }
        self.still_holds(api, token).await?;
        let weights: Vec<String> = green
            .target
            .additional_weights
            .iter()
            .map(|(v, w)| format!("{}% on version {v}", (w * 100.0).round()))
            .collect();
        self.progress.note(format_args!(
            "green was left split ({}, the rest on {}) by a rollout that did not finish: putting it back on version {} alone",
            weights.join(", "),
            green.target.version,
            green.target.version
        ));
        let target = AliasTarget::version(green.target.version.clone());
        let record = Promotion::parse(&green.description)
            .ok()
            .filter(|record| record.rolling.is_some())
            .map(|record| record.settled().to_description());
        self.guarded_green(&green, &target, record.as_deref()).await
    }

    /// Whatever ended a run early (an error, Ctrl-C, `--timeout`), no split of its own stays
    /// behind: green read while the lock is still held and, if it is still the split this run
    /// last wrote, settled in one guarded write. Someone else's split (a run that took the
    /// lock over, a rollout this run never started) is theirs: settling any split would abort
    /// the current holder's rollout. Bounded as cleanup is, and a failure here is a warning:
    /// the run's own error is what it reports, and the next run settles it.
    pub(crate) async fn settle_after_failure(&self, api: &RestApi, token: &str) {
        let writes = self.green_writes.lock().expect("green_writes").clone();
        let settled = async {
            // A run whose lock was taken over leaves green to the new holder (security-audit-3
            // N5): its settle would land under the holder's feet ([`Self::settle_split`]).
            let green = self.cloud.get_alias(self.function(), GREEN).await?;
            if !writes.put_there(&green.target) {
                return anyhow::Ok(green);
            }
            self.settle_split((api, token), green).await
        };
        if let Err(e) = crate::pipeline::cleanup::after_the_run(settled).await {
            self.progress.note(format_args!(
                "warning: green may still be split between two versions ({e:#}): the next deploy puts it back, or run `cargo xtask rollback`"
            ));
        }
    }

    /// An image a rollout failed with before (tagged `failed-image-HEX` by the revert) is not
    /// shipped again without `--force`, whichever version number its deploy publishes.
    pub(crate) async fn refuse_failed_image(
        &self,
        (registry, repository): (&C::Registry, &str),
        digest: &str,
        force: bool,
    ) -> Result<()> {
        let tag = ledger::failed_image_tag(digest);
        if force || registry.digest_of(repository, &tag).await?.is_none() {
            return Ok(());
        }
        Err(refuse(
            Exit::Failed,
            format!(
                "image {digest} failed a rollout on green before and was rolled back (image tag {tag}): deploy another build, or ship this one again with --force"
            ),
        ))
    }

    /// Refuses a version whose earlier rollout failed, unless `force`.
    pub(crate) async fn refuse_failed(
        &self,
        (registry, repository): (&C::Registry, &str),
        candidate: Candidate<'_>,
        force: bool,
    ) -> Result<()> {
        let tag = ledger::failed_tag(candidate.version, candidate.description);
        if force || registry.digest_of(repository, &tag).await?.is_none() {
            return Ok(());
        }
        Err(refuse(
            Exit::Failed,
            format!(
                "version {} failed a rollout before and was rolled back (image tag {tag}): ship it again with --force",
                candidate.version
            ),
        ))
    }
}
