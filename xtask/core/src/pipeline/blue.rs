//! The blue phase: alias `blue` → the candidate version, which stage `blue` (the lock) serves.
use anyhow::Result;

use super::{BLUE, Cloud, Ctx, Phase};
use crate::cloud::{Alias, AliasTarget};

impl<C: Cloud> Ctx<C> {
    /// Points alias blue at `version`.
    pub(crate) async fn blue_phase(&self, version: u64) -> Result<Alias> {
        self.progress
            .phase(Phase::Blue, self.point_alias(BLUE, &version.to_string()))
            .await
    }

    /// Points `alias` at `version`, creating the alias when missing.
    pub(crate) async fn point_alias(&self, alias: &str, version: &str) -> Result<Alias> {
        let target = AliasTarget::version(version);
        let moved = self
            .retry_conflicts(|| {
                self.cloud
                    .update_alias(self.function(), alias, &target, None, None)
            })
            .await;
        match moved {
            Err(e) if e.is_not_found() => Ok(self
                .cloud
                .create_alias(self.function(), alias, &target, "")
                .await?),
            other => Ok(other?),
        }
    }
}
