//! The promote phase: alias `green` → the verified version in one write guarded by the
//! RevisionId read before (a green moved by someone else fails instead of being overwritten),
//! then green must report it. The only place, with rollback, where green moves.
use anyhow::{Result, bail};

use super::{Cloud, Ctx, GREEN, Phase};
use crate::{
    cloud::{Alias, AliasTarget, CloudResult, RestApi},
    ledger::{self, Promotion, VersionRecord},
    secret::Secret,
};

impl<C: Cloud> Ctx<C> {
    /// Points blue at `version` and verifies it there; records the verification (the image
    /// tag of this very publication) before green moves, so a tagging failure leaves green as
    /// it was; then promotes it to green and checks green reports it.
    pub async fn blue_then_green(
        &self,
        api: &RestApi,
        token: &Secret,
        green: &Alias,
        candidate: Candidate<'_>,
        registry: (&C::Registry, &str),
    ) -> Result<()> {
        self.verify_on_blue(api, token, candidate, registry).await?;
        self.still_holds(api, token.expose()).await?;
        self.promote_phase(api, green, candidate).await?;
        Ok(())
    }

    /// The promote phase: green → the candidate (guarded by `green`'s RevisionId), then green
    /// must report it. Returns green as written.
    pub async fn promote_phase(
        &self,
        api: &RestApi,
        green: &Alias,
        candidate: Candidate<'_>,
    ) -> Result<Alias> {
        self.promote_baking(api, green, candidate, None).await
    }

    /// [`Self::promote_phase`], recording a bake until `baking` (epoch seconds).
    pub async fn promote_baking(
        &self,
        api: &RestApi,
        green: &Alias,
        candidate: Candidate<'_>,
        baking: Option<u64>,
    ) -> Result<Alias> {
        self.progress
            .phase(Phase::Promote, async {
                let promoted = self
                    .promote_recording(green, candidate.version, candidate.pin, baking)
                    .await?;
                self.probe_green(api, candidate.version, candidate.record)
                    .await?;
                anyhow::Ok(promoted)
            })
            .await
    }

    /// Moves green to `version` in one guarded call: with the RevisionId read before, a green
    /// moved by someone else fails instead of being overwritten. The alias Description records
    /// the promotion.
    pub async fn promote(&self, green: &Alias, version: u64, pinned: bool) -> Result<Alias> {
        self.promote_recording(green, version, pinned, None).await
    }

    /// [`Self::promote`], the record also saying green bakes on `version` until `baking`.
    pub async fn promote_recording(
        &self,
        green: &Alias,
        version: u64,
        pinned: bool,
        baking: Option<u64>,
    ) -> Result<Alias> {
        // A write that keeps green's version (a rollback aborting a split) keeps the version
        // a plain rollback goes back to; before, it recorded green's own version there.
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
        };
        let description = promotion.to_description();
        let target = AliasTarget::version(version.to_string());
        let moved = self.write_green(green, &target, Some(&description)).await;
        match moved {
            Err(e) if e.is_precondition_failed() => bail!(
                "green moved since this run read it (someone else deployed or rolled back): nothing was promoted; run `cargo xtask status`, then try again"
            ),
            other => Ok(other?),
        }
    }
}

impl<C: Cloud> Ctx<C> {
    /// The one way green is written: UpdateAlias guarded by `current`'s RevisionId, each write
    /// noted for the run's closing statement. A write refused by a guard or for a missing or
    /// busy alias wrote nothing; one with no answer may have landed.
    pub async fn write_green(
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
