//! The promote phase: alias `green` → the verified version in one write guarded by the
//! RevisionId read before (a green moved by someone else fails instead of being overwritten),
//! then green must report it. The only place, with rollback, where green moves.
use anyhow::{Result, bail};

use super::{Cloud, Ctx, GREEN, Phase};
use crate::{
    cloud::{Alias, AliasTarget, RestApi},
    ledger::{self, Promotion, VersionRecord},
};

impl<C: Cloud> Ctx<C> {
    /// Points blue at `version` and verifies it there; records the verification (the image
    /// tag of this very publication) before green moves, so a tagging failure leaves green as
    /// it was; then promotes it to green and checks green reports it.
    pub async fn blue_then_green(
        &self,
        api: &RestApi,
        token: &str,
        green: &Alias,
        candidate: Candidate<'_>,
        registry: (&C::Registry, &str),
    ) -> Result<()> {
        self.verify_on_blue(api, token, candidate, registry).await?;
        self.still_holds(api, token).await?;
        self.promote_phase(api, green, candidate).await
    }

    /// The promote phase: green → the candidate (guarded by `green`'s RevisionId), then green
    /// must report it.
    pub async fn promote_phase(
        &self,
        api: &RestApi,
        green: &Alias,
        candidate: Candidate<'_>,
    ) -> Result<()> {
        self.progress
            .phase(Phase::Promote, async {
                self.promote(green, candidate.version, candidate.pin)
                    .await?;
                self.probe_green(api, candidate.version, candidate.record)
                    .await
            })
            .await?;
        Ok(())
    }

    /// Moves green to `version` in one guarded call: with the RevisionId read before, a green
    /// moved by someone else fails instead of being overwritten. The alias Description records
    /// the promotion.
    pub async fn promote(&self, green: &Alias, version: u64, pinned: bool) -> Result<Alias> {
        let promotion = Promotion {
            version,
            from: green.target.version.parse().ok(),
            actor: ledger::actor(),
            at: ledger::now_rfc3339(),
            pinned,
        };
        let description = promotion.to_description();
        let target = AliasTarget::version(version.to_string());
        *self.green_attempt.lock().expect("green_attempt") = Some(version);
        let moved = self
            .cloud
            .update_alias(
                self.function(),
                GREEN,
                &target,
                Some(&description),
                green.revision_id.as_deref(),
            )
            .await;
        match moved {
            Err(e) if e.is_precondition_failed() => bail!(
                "green moved since this run read it (someone else deployed or rolled back): nothing was promoted; run `cargo xtask status`, then try again"
            ),
            other => Ok(other?),
        }
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::Instant;

    use super::Ctx;
    use crate::{
        cloud::{Alias, AliasTarget, guards},
        config::Config,
        progress::Progress,
        verify::Prober,
    };

    #[tokio::test]
    async fn promote_stops_when_green_moved_since_preflight_smithy_mock() {
        let ctx = Ctx {
            cloud: guards::green_moved_by_someone_else(),
            config: Config::load().unwrap(),
            account: "123456789012".into(),
            local_gateway: None,
            function_log: None,
            progress: Progress::default(),
            prober: Prober::default(),
            deadline: Instant::now() + Duration::from_secs(60),
            green_attempt: Default::default(),
        };
        let green = Alias {
            name: "green".into(),
            target: AliasTarget::version("6"),
            description: String::new(),
            revision_id: Some("read-in-preflight".into()),
        };
        let err = ctx.promote(&green, 7, false).await.unwrap_err();
        assert!(err.to_string().contains("green moved"), "{err:#}");
        assert!(err.to_string().contains("nothing was promoted"), "{err:#}");
    }
}
