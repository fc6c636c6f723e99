//! The cleanup phase: stage `blue` (the lock) deleted whatever ended the run, bounded (30 s, and
//! a second Ctrl-C or SIGTERM gives up on it), and only while it is still this run's lock; a
//! failure is a warning, since the run's own result stands and the lock expires by itself.
use std::{future::Future, time::Duration};

use anyhow::Result;

use super::{BLUE, Cloud, Ctx, Phase, TOKEN_VARIABLE, absent_as_none};
use crate::cloud::RestApi;

/// How long cleanup waits for DeleteStage before leaving the lock to expire.
const CLEANUP_LIMIT: Duration = Duration::from_secs(30);

/// Work after a run ended (settling its split, removing its lock), bounded: [`CLEANUP_LIMIT`],
/// and a second Ctrl-C or SIGTERM gives up on it. CI allows 7.5 s between its SIGINT and its
/// SIGTERM; unbounded, the settle took up to two SDK operations' 90 s, deaf to a second signal
/// (security-audit-3 N7).
pub(crate) async fn after_the_run<T>(work: impl Future<Output = Result<T>>) -> Result<T> {
    let work = async {
        tokio::time::timeout(CLEANUP_LIMIT, work)
            .await
            .unwrap_or_else(|_| {
                Err(anyhow::anyhow!(
                    "no answer within {} s",
                    CLEANUP_LIMIT.as_secs()
                ))
            })
    };
    match crate::signal::shutdown_signal() {
        Ok(second) => tokio::select! {
            done = work => done,
            name = second => Err(anyhow::anyhow!("a second {name} stopped it")),
        },
        Err(_) => work.await,
    }
}

impl<C: Cloud> Ctx<C> {
    /// Removes the lock this run took (`token` is its own) after the run; never fails the run.
    pub(crate) async fn cleanup_phase(&self, api: &RestApi, token: &str) {
        let released = self
            .progress
            .phase(
                Phase::Cleanup,
                after_the_run(self.release_own_lock(api, token)),
            )
            .await;
        if let Err(e) = released {
            // The run's own result stands (a promotion stays a success, a failed verification
            // stays the failure to report); the lock ends by itself.
            self.progress.warn(format_args!(
                "stage blue (the lock) could not be removed: {e:#}; the next deploy or rollback takes it over once it expires (`cargo xtask status` says when), or at once with --break-lock"
            ));
        }
    }

    /// Deletes stage `blue` while it is still the lock this run took (its token): a run that
    /// stalled past the lock's TTL finds it taken over, and that lock is the other run's to
    /// remove (deleting it would let a third run take the lock while the second still works:
    /// the simulation's seed 112). API Gateway has no conditional DeleteStage: this narrows the
    /// window to one GetStage's length.
    pub(crate) async fn release_own_lock(&self, api: &RestApi, token: &str) -> Result<()> {
        let Some(blue) = absent_as_none(self.cloud.get_stage(&api.id, BLUE).await)? else {
            return Ok(());
        };
        if blue.variables.get(TOKEN_VARIABLE).map(String::as_str) != Some(token) {
            self.progress.warn(
                "stage blue is no longer this run's lock (it expired and another run took it over): it stays for that run",
            );
            return Ok(());
        }
        self.release_lock(api).await
    }

    /// Before green moves: the lock must still be this run's. A run that stalled past the
    /// lock's TTL may have been taken over; the new holder is mid-deploy, and this run's
    /// promotion would land under its feet (the simulation's seed 20956).
    pub(crate) async fn still_holds(&self, api: &RestApi, token: &str) -> Result<()> {
        let blue = absent_as_none(self.cloud.get_stage(&api.id, BLUE).await)?;
        if blue
            .and_then(|b| b.variables.get(TOKEN_VARIABLE).cloned())
            .as_deref()
            == Some(token)
        {
            return Ok(());
        }
        Err(crate::outcome::refuse(
            crate::outcome::Exit::LockHeld,
            "this run's lock expired and another run took it over: green was not moved; `cargo xtask status` shows who holds it",
        ))
    }

    /// Deletes stage `blue` (the lock); already gone is fine.
    pub(crate) async fn release_lock(&self, api: &RestApi) -> Result<()> {
        absent_as_none(self.cloud.delete_stage(&api.id, BLUE).await)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    /// What runs after a run ended gives up at the limit rather than holding the process (and
    /// the CI job) on an endpoint that never answers.
    #[tokio::test(start_paused = true)]
    async fn work_after_the_run_is_given_up_at_the_cleanup_limit() {
        let started = tokio::time::Instant::now();
        let never = super::after_the_run(std::future::pending::<anyhow::Result<()>>());
        let err = never.await.unwrap_err();
        assert_eq!(err.to_string(), "no answer within 30 s");
        assert_eq!(started.elapsed(), super::CLEANUP_LIMIT);
    }
}
