//! After the storm, with faults off: the next plain run must converge, and the world then be
//! quiescent.
use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use super::lock;
use crate::{
    actor::{self, Deploy, Ending, Role},
    oracle::Holder,
    world::World,
};
use bgd_core::{
    config::Config,
    ledger::VersionRecord,
    outcome::{Exit, exit_of},
    pipeline::{BLUE, GREEN},
};

/// The next plain run after the storm: a deploy of build 1 must finish, or refuse with a
/// reason whose documented remedy then finishes it: the lock (--break-lock), the pin
/// (--unpin), build 1 recorded as failed by a rollout the storm's faults reverted (--force),
/// an alarm still firing (deploy once it is OK again; when green's own version keeps it
/// firing, as the advice says: rollback, then deploy --unpin), a bake left unfinished that
/// reverts (exit 7: deploy again). A dead run's lock stays until its TTL passes: then a plain run
/// removes it (an operator's, which never expires, takes --break-lock).
pub(super) async fn converge(
    world: &Arc<Mutex<World>>,
    first: usize,
    crashed: bool,
    config: &Config,
    images: &[PathBuf],
) {
    let mut deploy = Deploy::of(1);
    let (mut waited, mut alarm_waited, mut reverted) = (false, false, false);
    let mut id = first;
    while id < first + 8 {
        id += 1;
        let role = Role::Deploy(deploy.clone());
        match actor::run(world, id, role.clone(), config, images).await {
            Ending::Done(Ok(_)) => {
                let mut w = lock(world);
                match w.oracle.lock {
                    Some((Holder::Foreign, _)) if !deploy.break_lock => deploy.break_lock = true,
                    Some(_) if !waited => {
                        w.note(|| "the lock's TTL passes".into());
                        crate::cloud::expire_lock(&mut w);
                        waited = true;
                    }
                    _ => return quiescent(&mut w),
                }
            }
            Ending::Done(Err(e)) => {
                let said = format!("{e:#}");
                match exit_of(&e) {
                    Exit::LockHeld if !deploy.break_lock => deploy.break_lock = true,
                    Exit::Pinned if !deploy.unpin => deploy.unpin = true,
                    Exit::RolledBack if !reverted => reverted = true,
                    Exit::Failed if said.contains("--force") && !deploy.force => {
                        deploy.force = true;
                    }
                    Exit::Failed if said.contains("in ALARM already") && !alarm_waited => {
                        let memory = lock(world).traffic.alarm_memory_s();
                        tokio::time::sleep(Duration::from_secs(memory)).await;
                        alarm_waited = true;
                    }
                    Exit::Failed if said.contains("`cargo xtask rollback`") && !deploy.unpin => {
                        let rollback = Role::Rollback { to: None };
                        if let Ending::Done(Err(e)) =
                            actor::run(world, id, rollback, config, images).await
                        {
                            return lock(world).oracle.fail(format!(
                                "green's own version kept the alarm firing, and the rollback failed: {e:#}"
                            ));
                        }
                        id += 1;
                        let memory = lock(world).traffic.alarm_memory_s();
                        tokio::time::sleep(Duration::from_secs(memory)).await;
                        deploy.unpin = true;
                    }
                    _ => {
                        let after = if crashed { "after a crash, " } else { "" };
                        return lock(world).oracle.fail(format!(
                            "{after}the next plain run did not converge ({role}): {said}"
                        ));
                    }
                }
            }
            Ending::Crashed => unreachable!("no faults while converging"),
        }
    }
    lock(world)
        .oracle
        .fail("the plain runs after the storm never settled (8 runs)".into());
}

/// At quiescence: no blue stage; every published version has its ledger record; green serves
/// the converging deploy's build.
fn quiescent(w: &mut World) {
    if w.gateway.stages.contains_key(BLUE) {
        w.oracle
            .fail("at quiescence stage blue (the lock) is still there".into());
    }
    let unrecorded: Vec<u64> = w
        .lambda
        .versions
        .iter()
        .filter(|(_, facts)| VersionRecord::parse(&facts.description).is_err())
        .map(|(n, _)| *n)
        .collect();
    if !unrecorded.is_empty() {
        w.oracle.fail(format!(
            "published versions without their ledger record: {unrecorded:?}"
        ));
    }
    if w.routes_of(GREEN).len() > 1 {
        w.oracle.fail(format!(
            "at quiescence green is still split: {:?}",
            w.routes_of(GREEN)
        ));
    }
    let green = w.lambda.aliases.get(GREEN).map(|a| a.target.clone());
    let serves = green.as_deref().and_then(|v| w.image_of(v));
    let build_1 = w
        .apps
        .iter()
        .find(|(_, app)| app.facts.git_sha.starts_with('1'))
        .map(|(digest, _)| digest.clone());
    if serves != build_1 {
        w.oracle.fail(format!(
            "after the converging deploy green serves {serves:?}, not build 1"
        ));
    }
}
