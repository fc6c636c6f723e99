//! The deploy lock: stage `blue`, created atomically from green's deployment, held while a
//! verb that writes runs (`ledger::Task` names which), released whatever ends the run, taken
//! over once expired or with `--break-lock`, naming whose it was.
use std::{collections::BTreeMap, future::Future, panic::AssertUnwindSafe, time::Duration};

use anyhow::Result;
use futures_util::FutureExt;

use super::{ALIAS_VARIABLE, BLUE, Cloud, Ctx, Phase, Plan, TOKEN_VARIABLE, absent_as_none};
use crate::{
    cloud::{RestApi, Stage},
    config::show_duration,
    ledger::{Hold, Lock, Task},
    outcome::{Exit, refuse},
    secret::Secret,
};

/// How long a lock stands past its run's deadline: the cleanup after the deadline (bounded at
/// 30 s) and a revert's guarded write fit well inside.
const LOCK_MARGIN: Duration = Duration::from_secs(5 * 60);
/// How long a takeover waits before confirming its new lock is still its own: DeleteStage is
/// not conditional, so two runs taking over one expired lock at once can each delete what the
/// other created; the later one's lock stands, and this is when the other finds out.
const TAKEOVER_SETTLE: Duration = Duration::from_secs(2);

impl<C: Cloud> Ctx<C> {
    /// Takes the lock: creates stage `blue` from green's deployment (the same API snapshot),
    /// with `alias=blue` and a fresh token. CreateStage fails atomically when blue exists.
    /// Returns the token.
    pub(crate) async fn take_lock(
        &self,
        api: &RestApi,
        deployment_id: &str,
        git_sha: &str,
        lock: LockOptions,
        green_revision: Option<&str>,
    ) -> Result<Secret> {
        // A hold is recorded only once blue verified ([`Self::begin_hold`]): until then this is
        // a deploy's lock, which `abort` and `promote` leave alone.
        let taken = LockOptions { hold: None, ..lock };
        let (token, stage) = self.lock_stage(deployment_id, git_sha, taken, green_revision);
        match self.cloud.create_stage(&api.id, &stage).await {
            Ok(_) => return Ok(token),
            Err(e) if e.is_conflict() => {}
            Err(e) => return Err(e.into()),
        }
        let held = self.cloud.get_stage(&api.id, BLUE).await?;
        let (holder, expired) = lock_holder(&held);
        if !expired && !lock.break_lock {
            let what = if Lock::parse(&held.description).is_ok_and(|l| l.hold.is_some()) {
                "promote or abort it first, or pass --break-lock to drop it"
            } else {
                "wait for it, or pass --break-lock if it died"
            };
            return Err(refuse(
                Exit::LockHeld,
                format!(
                    "another deploy holds the lock (stage blue of API {}): {holder}; {what}",
                    api.name
                ),
            ));
        }
        self.progress.warn(format_args!(
            "taking over the lock {}: {holder}",
            if expired {
                "because it expired"
            } else {
                "(--break-lock)"
            }
        ));
        // A lock released meanwhile is no one's: this run creates its own.
        self.replace_lock(api, &held, &stage, token, false).await
    }

    /// Replaces the lock `held` (stage blue as this run read it) by `stage`, this run's lock
    /// whose token is `token`; with `must_exist`, a `held` gone meanwhile is lost too. Only
    /// the lock judged by the caller may go, and the new one must then still be ours: two runs
    /// taking over the same expired lock both succeeded before (found by the simulation: the
    /// second deleted the lock the first had just created).
    pub(crate) async fn replace_lock(
        &self,
        api: &RestApi,
        held: &Stage,
        stage: &Stage,
        token: Secret,
        must_exist: bool,
    ) -> Result<Secret> {
        let (holder, _) = lock_holder(held);
        let lost = || {
            refuse(
                Exit::LockHeld,
                format!(
                    "another run took over the lock at the same moment ({holder}): it holds it now; try again later"
                ),
            )
        };
        match absent_as_none(self.cloud.get_stage(&api.id, BLUE).await)? {
            Some(now) if now != *held => return Err(lost()),
            None if must_exist => return Err(lost()),
            _ => {}
        }
        absent_as_none(self.cloud.delete_stage(&api.id, BLUE).await)?;
        match self.cloud.create_stage(&api.id, stage).await {
            Ok(_) => {}
            Err(e) if e.is_conflict() => return Err(lost()),
            Err(e) => return Err(anyhow::Error::new(e).context("taking over the lock")),
        }
        tokio::time::sleep(TAKEOVER_SETTLE).await;
        let blue = absent_as_none(self.cloud.get_stage(&api.id, BLUE).await)?;
        let taken = blue.and_then(|b| b.variables.get(TOKEN_VARIABLE).cloned());
        if taken.as_deref() != Some(token.expose()) {
            return Err(lost());
        }
        Ok(token)
    }

    /// `deploy --hold`, once blue verified the held version: this run's lock (`token`)
    /// becomes the hold that `promote` and `abort` act on, with the same token (what blue was
    /// verified with). Recorded when the lock was taken, the hold let an `abort` remove the
    /// lock under a deploy still verifying, which went on writing without it, and say it
    /// ended the hold of the version blue pointed at before (found by the simulation).
    pub(crate) async fn begin_hold(
        &self,
        api: &RestApi,
        (deployment_id, git_sha): (&str, &str),
        lock: LockOptions,
        green_revision: Option<&str>,
        token: &Secret,
    ) -> Result<()> {
        let Some(ours) = absent_as_none(self.cloud.get_stage(&api.id, BLUE).await)?.filter(|b| {
            b.variables.get(TOKEN_VARIABLE).map(String::as_str) == Some(token.expose())
        }) else {
            return Err(refuse(
                Exit::LockHeld,
                "this run's lock expired and another run took it over: nothing is held; deploy again",
            ));
        };
        let (_, mut stage) = self.lock_stage(deployment_id, git_sha, lock, green_revision);
        stage
            .variables
            .insert(TOKEN_VARIABLE.into(), token.expose().to_owned());
        self.replace_lock(api, &ours, &stage, token.clone(), true)
            .await?;
        Ok(())
    }

    /// For a run that needs no lock (already deployed): removes a lock a killed run left
    /// behind once it expired or `--break-lock` says its holder died; a live one is reported.
    pub(crate) async fn release_left_lock(&self, api: &RestApi, break_lock: bool) -> Result<()> {
        let Some(blue) = absent_as_none(self.cloud.get_stage(&api.id, BLUE).await)? else {
            return Ok(());
        };
        let (holder, expired) = lock_holder(&blue);
        if break_lock || expired {
            self.progress
                .warn(format_args!("removing the lock left behind: {holder}"));
            self.release_lock(api).await
        } else {
            self.progress.warn(format_args!(
                "stage blue (the lock) stays: {holder}; pass --break-lock if its run died"
            ));
            Ok(())
        }
    }

    /// Runs `work` holding the lock (stage blue, from green's deployment): the work races
    /// Ctrl-C and `--timeout`, and the lock is released whatever ends it, unless `keep`.
    pub async fn locked<T, F: Future<Output = Result<T>>>(
        &self,
        api: &RestApi,
        deployment_id: &str,
        git_sha: &str,
        lock: LockOptions,
        green_revision: Option<&str>,
        work: impl FnOnce(Secret) -> F,
    ) -> Result<T> {
        // Registered before the lock is taken: a signal meanwhile ends the run once it holds
        // the lock, which is then released (before, SIGTERM here killed the run and left a
        // fresh lock: adversarial-3, prior finding 6).
        let shutdown = crate::signal::shutdown_signal()?;
        let token = self
            .progress
            .phase(
                Phase::Lock,
                self.take_lock(api, deployment_id, git_sha, lock, green_revision),
            )
            .await?;
        self.holding(api, token, lock, shutdown, work).await
    }

    /// Runs `work` holding the lock whose token is `token` (taken by this run, or the hold
    /// `promote` took over): the work races `shutdown` (Ctrl-C, SIGTERM, SIGHUP, registered
    /// before the lock was taken) and `--timeout`; whatever ends it, a split green is settled
    /// and the lock released, unless `--keep-blue` or a hold that succeeded (a failed `deploy
    /// --hold` holds nothing for `promote`: its lock goes like any other).
    pub async fn holding<T, F: Future<Output = Result<T>>>(
        &self,
        api: &RestApi,
        token: Secret,
        lock: LockOptions,
        shutdown: impl Future<Output = &'static str>,
        work: impl FnOnce(Secret) -> F,
    ) -> Result<T> {
        // What green serves after an interruption is read and stated by the caller.
        // Biased, in this order: an interrupt or the deadline ends the run before its work
        // takes another step, whichever order tokio's per-runtime seed would draw (the
        // simulation's seed 25 ran two ways, its deadline met as it took the lock).
        let outcome = tokio::select! {
            biased;
            name = shutdown => Err(anyhow::anyhow!("interrupted ({name})")),
            () = tokio::time::sleep_until(self.deadline) => Err(anyhow::anyhow!("--timeout passed")),
            outcome = catching_panics(work(token.clone())) => outcome,
        };
        // Prune never writes green, so it leaves a split it finds to the runs that do; provision
        // writes green only as its last step, never a split (and green may not exist yet).
        if outcome.is_err() && !matches!(lock.task, Task::Prune | Task::Provision) {
            self.settle_after_failure(api, token.expose()).await;
        }
        if lock.hold.is_some() && outcome.is_ok() {
            return outcome;
        }
        if lock.keep && lock.hold.is_none() {
            self.progress.note("--keep-blue: stage blue stays and holds the lock; `cargo xtask status --show-token` prints its token; the next deploy needs --break-lock");
            return outcome;
        }
        self.cleanup_phase(api, token.expose()).await;
        outcome
    }
}

impl<C: Cloud> Ctx<C> {
    /// A lock stage for `git_sha` as `lock` says, from the deployment `deployment_id`, and its
    /// fresh token. It stands until the run's deadline and [`LOCK_MARGIN`] (a fixed 30 minutes
    /// before: a run with a longer --timeout lost its lock mid-rollout to the next deploy,
    /// security-audit-3 N4); a hold, which begins as its deploy ends, its `--hold-minutes`.
    pub(super) fn lock_stage(
        &self,
        deployment_id: &str,
        git_sha: &str,
        lock: LockOptions,
        green_revision: Option<&str>,
    ) -> (Secret, Stage) {
        let token = Secret::registered(hex::encode(rand::random::<[u8; 32]>()));
        let hold = lock.hold.map(|_| Hold {
            green_revision: green_revision.unwrap_or("none").to_owned(),
            strategy: lock.rollout.map(|plan| plan.strategy.to_string()),
            bake: lock.rollout.map(|plan| show_duration(plan.bake)),
        });
        let run = self
            .deadline
            .saturating_duration_since(tokio::time::Instant::now())
            + LOCK_MARGIN;
        let ttl = lock.hold.unwrap_or(run);
        let description = Lock {
            task: lock.task,
            ..Lock::new(git_sha, ttl, lock.keep, hold)
        };
        let stage = Stage {
            name: BLUE.into(),
            deployment_id: deployment_id.into(),
            variables: BTreeMap::from([
                (ALIAS_VARIABLE.into(), BLUE.into()),
                (TOKEN_VARIABLE.into(), token.expose().to_owned()),
            ]),
            description: description.to_description(),
        };
        (token, stage)
    }
}

/// Runs `work`, a panic in it becoming an error, so that the lock held around it is still
/// released (a bug must not strand the lock until it expires).
async fn catching_panics<T>(work: impl Future<Output = Result<T>>) -> Result<T> {
    // On the heap: a verb's whole work (with the SDK's futures, large in debug builds) would
    // otherwise sit in every frame that polls it, and overflow the main thread's stack.
    AssertUnwindSafe(Box::pin(work))
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| {
            Err(anyhow::anyhow!(
                "a bug in bgd: the run panicked ({}); please report it",
                panic_message(panic.as_ref())
            ))
        })
}

/// What a panic said, when it said it with a string.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message")
}

/// How a run treats the lock.
#[derive(Debug, Clone, Copy, Default)]
pub struct LockOptions {
    /// Take over a lock that has not expired (its holder died).
    pub break_lock: bool,
    /// Keep stage blue after the run (`--keep-blue`, `--hold`).
    pub keep: bool,
    /// `deploy --hold`: how long the held lock stands once blue verified.
    pub hold: Option<Duration>,
    /// `deploy --hold`: how the deploy would have rolled out, kept in the hold for `promote`.
    pub rollout: Option<Plan>,
    /// What the run does under the lock, as others are told.
    pub task: Task,
}

/// Who holds the lock stage `blue` stands for, and whether that lock expired.
pub fn lock_holder(blue: &Stage) -> (String, bool) {
    match Lock::parse(&blue.description) {
        Ok(lock) => (lock.to_string(), lock.is_expired()),
        Err(_) => ("a blue stage not made by a deploy".into(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::catching_panics;

    /// That the lock is then still released: the simulation's
    /// `a_panic_under_the_lock_is_an_error_and_the_lock_is_still_released`.
    #[tokio::test]
    async fn a_panic_in_the_locked_work_is_an_error_naming_it() {
        let err = catching_panics(async {
            let body = "é".repeat(3);
            let _ = &body[..1]; // a byte slice inside a character, as a truncation bug would
            anyhow::Ok(())
        })
        .await
        .unwrap_err();
        assert!(
            err.to_string().contains("panicked") && err.to_string().contains("char boundary"),
            "{err}"
        );
        assert_eq!(catching_panics(async { anyhow::Ok(7) }).await.unwrap(), 7);
    }
}
