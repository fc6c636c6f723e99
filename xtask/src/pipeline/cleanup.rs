//! The cleanup phase: stage `blue` (the lock) deleted whatever ended the run, bounded (30 s, and
//! a second Ctrl-C or SIGTERM gives up on it); a failure is a warning, since the run's own result
//! stands and the lock expires by itself.
use std::time::Duration;

use anyhow::Result;

use super::{BLUE, Cloud, Ctx, Phase, absent_as_none};
use crate::cloud::RestApi;

/// How long cleanup waits for DeleteStage before leaving the lock to expire.
const CLEANUP_LIMIT: Duration = Duration::from_secs(30);

impl<C: Cloud> Ctx<C> {
    /// Removes the lock after a run; never fails the run.
    pub async fn cleanup_phase(&self, api: &RestApi) {
        let work = self.progress.phase(Phase::Cleanup, async {
            tokio::time::timeout(CLEANUP_LIMIT, self.release_lock(api))
                .await
                .unwrap_or_else(|_| {
                    Err(anyhow::anyhow!(
                        "no answer within {} s",
                        CLEANUP_LIMIT.as_secs()
                    ))
                })
        });
        let released = match crate::signal::shutdown_signal() {
            Ok(second) => tokio::select! {
                released = work => released,
                name = second => Err(anyhow::anyhow!("a second {name} stopped it")),
            },
            Err(_) => work.await,
        };
        if let Err(e) = released {
            // The run's own result stands (a promotion stays a success, a failed verification
            // stays the failure to report); the lock ends by itself.
            self.progress.warn(format_args!(
                "stage blue (the lock) could not be removed: {e:#}; the next deploy or rollback takes it over once it expires (`cargo xtask status` says when), or at once with --break-lock"
            ));
        }
    }

    /// Deletes stage `blue` (the lock); already gone is fine.
    pub async fn release_lock(&self, api: &RestApi) -> Result<()> {
        absent_as_none(self.cloud.delete_stage(&api.id, BLUE).await)?;
        Ok(())
    }
}
