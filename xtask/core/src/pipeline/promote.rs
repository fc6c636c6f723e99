//! From a verified blue to green: [`Ctx::to_green`], the one path every run takes there (deploy,
//! a rollback that verifies on blue, `promote` of a hold), and the promote phase it ends in:
//! alias `green` → the verified version in one write guarded by the RevisionId read before (a
//! green moved by someone else fails instead of being overwritten), then green must report it.
//! Every write of green goes through [`Ctx::write_green`].
use anyhow::{Result, bail};
use tokio::time::Instant;

use super::{Cloud, Ctx, GREEN, Phase, Plan, Watched};
use crate::{
    cloud::{Alias, AliasTarget, CloudResult, RestApi},
    ledger::{self, Promotion, VersionRecord},
    secret::Secret,
};

/// Green as a run read it, and a moment since which it has been so: any write of green the
/// run then sends is guarded by that RevisionId, so green moved no later than this moment.
pub(crate) type Seen<'a> = (&'a Alias, Instant);

impl<C: Cloud> Ctx<C> {
    /// Points blue at the candidate and verifies it there (the verification recorded before
    /// green moves, so a tagging failure leaves green as it was), then [`Self::to_green`]:
    /// how deploy and a rollback to a version not verified before end.
    pub(crate) async fn blue_then_green(
        &self,
        api: &RestApi,
        token: &Secret,
        green: Seen<'_>,
        candidate: Candidate<'_>,
        plan: Plan,
        registry: (&C::Registry, &str),
    ) -> Result<Option<Watched>> {
        self.verify_on_blue(api, token, candidate, registry).await?;
        self.to_green(api, token, green, candidate, plan, registry)
            .await
    }

    /// Green → a candidate verified on blue, as `plan` says: one promote when there is nothing
    /// to watch, else the rollout, once green's alarms judge only what green served since it
    /// was seen; first, this run must still hold the lock (`token`), or green is not touched.
    /// Returns what the rollout watched.
    pub(crate) async fn to_green(
        &self,
        api: &RestApi,
        token: &Secret,
        (green, seen_at): Seen<'_>,
        candidate: Candidate<'_>,
        plan: Plan,
        registry: (&C::Registry, &str),
    ) -> Result<Option<Watched>> {
        self.still_holds(api, token.expose()).await?;
        if !plan.watches() {
            let phase = Promote::Phase {
                api,
                candidate,
                baking: None,
            };
            self.promote(green, phase).await?;
            return Ok(None);
        }
        self.alarms_forget_before(seen_at, green).await?;
        let watched = self
            .roll_out((api, token), green, candidate, (plan, None), registry)
            .await?;
        self.progress.note(format_args!("{watched}"));
        Ok(Some(watched))
    }

    /// Moves green to a version in one write guarded by `green`'s RevisionId: a green moved by
    /// someone else fails instead of being overwritten. The alias Description records the
    /// promotion. As the promote phase ([`Promote::Phase`]) green must then report the
    /// candidate. Returns green as written.
    pub async fn promote(&self, green: &Alias, how: Promote<'_>) -> Result<Alias> {
        let (version, pinned, baking, check) = match how {
            Promote::Phase {
                api,
                candidate,
                baking,
            } => (
                candidate.version,
                candidate.pin,
                baking,
                Some((api, candidate.record)),
            ),
            Promote::Write { version, pinned } => (version, pinned, None, None),
        };
        let write = async {
            // A write that keeps green's version (a rollback aborting a split) keeps the
            // version a plain rollback goes back to, not green's own.
            let from = if green.target.version == version.to_string() {
                Promotion::parse(&green.description)
                    .ok()
                    .and_then(|p| p.from)
            } else {
                green.target.version.parse().ok()
            };
            let promotion = Promotion {
                version,
                from,
                actor: ledger::actor(),
                at: ledger::now_rfc3339(),
                pinned,
                baking,
                rolling: None,
            };
            let description = promotion.to_description();
            let target = AliasTarget::version(version.to_string());
            match self.write_green(green, &target, Some(&description)).await {
                Err(e) if e.is_precondition_failed() => bail!(
                    "green moved since this run read it (someone else deployed or rolled back): nothing was promoted; run `cargo xtask status`, then try again"
                ),
                other => Ok(other?),
            }
        };
        let Some((api, record)) = check else {
            return write.await;
        };
        self.progress
            .phase(Phase::Promote, async {
                let promoted = write.await?;
                self.probe_green(api, version, record).await?;
                anyhow::Ok(promoted)
            })
            .await
    }

    /// The one way green is written: UpdateAlias guarded by `current`'s RevisionId, each write
    /// noted for the run's closing statement. A write refused by a guard or for a missing or
    /// busy alias wrote nothing; one with no answer may have landed.
    pub(crate) async fn write_green(
        &self,
        current: &Alias,
        target: &AliasTarget,
        description: Option<&str>,
    ) -> CloudResult<Alias> {
        self.green_writes.lock().expect("green_writes").sent(target);
        let written = self
            .cloud
            .update_alias(
                self.function(),
                GREEN,
                target,
                description,
                current.revision_id.as_deref(),
            )
            .await;
        let refused = written
            .as_ref()
            .is_err_and(|e| e.is_precondition_failed() || e.is_not_found() || e.is_conflict());
        if written.is_ok() || refused {
            let landed = written.is_ok();
            self.green_writes
                .lock()
                .expect("green_writes")
                .answered(target, landed);
        }
        written
    }
}

/// A published version on its way to green (its Description names the publication the
/// verification is recorded for), and whether green is pinned on it (rollback).
#[derive(Clone, Copy)]
pub struct Candidate<'a> {
    pub version: u64,
    pub record: &'a VersionRecord,
    pub description: &'a str,
    pub pin: bool,
}

/// How [`Ctx::promote`] moves green.
#[derive(Clone, Copy)]
pub enum Promote<'a> {
    /// The promote phase of a run that verified `candidate`: the write, its record saying
    /// green bakes until `baking` (epoch seconds) if it does, then green on `api` must report
    /// the candidate's build.
    Phase {
        api: &'a RestApi,
        candidate: Candidate<'a>,
        baking: Option<u64>,
    },
    /// The write alone (`pinned` by a rollback), for a caller that checks green itself if it
    /// must.
    Write { version: u64, pinned: bool },
}
