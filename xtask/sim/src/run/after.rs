//! What a run may meet after its storm, drawn: the stack torn down and provisioned again, or
//! locks left behind beside a pinned green.
use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
};

use rand::{Rng, rngs::SmallRng};

use super::lock;
use crate::{
    actor::{self, Deploy, Ending, Role},
    cloud,
    oracle::Holder,
    world::World,
};
use bgd_core::{
    config::Config,
    outcome::{Exit, exit_of},
    pipeline::{BLUE, GREEN},
};

/// One run in eight tears the stack down and provisions it again; one in sixteen meets locks
/// left behind ([`left_behind`]). Actors from `first` on.
pub(super) async fn drawn(
    world: &Arc<Mutex<World>>,
    plan: &mut SmallRng,
    first: usize,
    config: &Config,
    images: &[PathBuf],
) {
    if plan.random_bool(0.125) {
        torn_down_and_provisioned(world, first + 20, config, images).await;
    }
    if plan.random_bool(0.0625) {
        left_behind(world, first + 30, config, images).await;
    }
}

/// Locks left behind, as a team meets them, on the build green runs (`deploy` of what is
/// already deployed): a dead run's expired lock, which a dry run must leave; then, green
/// pinned by a rollback, an operator's stage blue, which `deploy --unpin --break-lock` must
/// break as told. Storms alone met either seldom: the mutants "a dry run removes a lock left
/// behind" and "deploy --unpin drops --break-lock" went uncaught in 5,000 runs. Skipped where
/// the storm left a lock, or where there is nothing to roll back to.
async fn left_behind(world: &Arc<Mutex<World>>, first: usize, config: &Config, images: &[PathBuf]) {
    let Some(build) = green_build(&lock(world)) else {
        return;
    };
    cloud::dead_runs_expired_lock(&mut lock(world));
    if !lock(world).oracle.pinned {
        let dry = Role::DeployDryRun { build };
        actor::run(world, first, dry, config, images).await;
        if !lock(world).gateway.stages.contains_key(BLUE) {
            return lock(world).oracle.fail(format!(
                "deploy b{build} --dry-run, of what green runs, removed a dead run's lock"
            ));
        }
    }
    {
        let mut w = lock(world);
        w.gateway.stages.remove(BLUE);
        w.oracle.lock = None;
    }
    let rollback = actor::run(
        world,
        first + 1,
        Role::Rollback { to: None },
        config,
        images,
    );
    let (Ending::Done(Ok(_)), Some(build)) = (rollback.await, green_build(&lock(world))) else {
        return;
    };
    // The storm's trouble may keep the alarm firing a while (a deploy refuses into it): the
    // team deploys once it is OK again, as the refusal says.
    let memory = lock(world).traffic.alarm_memory_s();
    tokio::time::sleep(std::time::Duration::from_secs(memory)).await;
    cloud::foreign_lock(&mut lock(world));
    let unpin = Deploy {
        unpin: true,
        break_lock: true,
        ..Deploy::of(build)
    };
    let role = Role::Deploy(unpin);
    if let Ending::Done(Err(e)) = actor::run(world, first + 2, role.clone(), config, images).await {
        lock(world).oracle.fail(format!(
            "{role}, of what green runs, beside an operator's lock, failed: {e:#}"
        ));
    }
}

/// The build green runs alone, when no lock is there.
fn green_build(w: &World) -> Option<usize> {
    let routes = w.routes_of(GREEN);
    let [version] = routes.as_slice() else {
        return None;
    };
    let digest = w.image_of(version)?;
    let app = w.apps.get(&digest)?;
    let free = !w.gateway.stages.contains_key(BLUE);
    free.then(|| app.facts.git_sha[..1].parse().ok()).flatten()
}

/// The stack torn down and provisioned again, each verb under faults first: `destroy`, which
/// must leave nothing of the stack, then `provision`. Either may die half-way; then plain
/// re-runs must finish it, or something is left that only manual repair clears.
async fn torn_down_and_provisioned(
    world: &Arc<Mutex<World>>,
    first: usize,
    config: &Config,
    images: &[PathBuf],
) {
    let mut id = first;
    if !finished_by_reruns(world, &mut id, Role::Destroy, config, images).await {
        return;
    }
    {
        let mut w = lock(world);
        let left: Vec<&str> = [
            ("the function", w.lambda.function.is_some()),
            ("the REST API", w.gateway.api.is_some()),
            ("the repository", w.images.repository.is_some()),
            ("the role", !w.roles.is_empty()),
        ]
        .into_iter()
        .filter_map(|(what, there)| there.then_some(what))
        .collect();
        if !left.is_empty() {
            return w.oracle.fail(format!("destroy finished and left {left:?}"));
        }
        // Nothing of the stack is left: what blue verified before is gone with it.
        w.oracle.pinned = false;
    }
    id += 1;
    finished_by_reruns(world, &mut id, Role::Provision, config, images).await;
}

/// Runs `role` as actor `id` under faults, then as a plain run again (a new actor each time,
/// at most three) until it finishes; a lock the dead run left waits out its TTL first (an
/// operator's is removed by the operator). Whether it finished; the oracle hears if not.
async fn finished_by_reruns(
    world: &Arc<Mutex<World>>,
    id: &mut usize,
    role: Role,
    config: &Config,
    images: &[PathBuf],
) -> bool {
    lock(world).faulty = true;
    let mut ending = actor::run(world, *id, role.clone(), config, images).await;
    lock(world).faulty = false;
    for _ in 0..3 {
        match &ending {
            Ending::Done(Ok(_)) => return true,
            Ending::Done(Err(e)) if exit_of(e) == Exit::LockHeld => {
                let mut w = lock(world);
                if let Some((Holder::Foreign, _)) = w.oracle.lock {
                    w.gateway.stages.remove(BLUE);
                    w.oracle.lock = None;
                } else {
                    crate::cloud::expire_lock(&mut w);
                }
            }
            _ => {}
        }
        *id += 1;
        ending = actor::run(world, *id, role.clone(), config, images).await;
    }
    let how = match ending {
        Ending::Done(Ok(_)) => return true,
        Ending::Done(Err(e)) => format!("{e:#}"),
        Ending::Crashed => "crashed".into(),
    };
    lock(world).oracle.fail(format!(
        "{role} under faults, then re-run three times without, never finished: {how}"
    ));
    false
}
