//! The storm: the seed's actors at once, each a machine of its own (its clock's skew, its
//! start, maybe credentials that expire), with faults at every call.
use std::{
    future::Future,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use rand::{Rng, SeedableRng, rngs::SmallRng};

use super::lock;
use crate::{
    actor::{self, Deploy, Ending, Role},
    world::{EPOCH, MAX_SKEW_S, World},
};
use bgd_core::{config::Config, ledger::Lock, pipeline::BLUE};

/// Runs machines `first..first + actors` at once under faults, their roles and moments drawn
/// from `plan`; whether any of them crashed.
pub(super) async fn storm(
    world: &Arc<Mutex<World>>,
    (seed, plan): (u64, &mut SmallRng),
    (first, actors): (usize, usize),
    config: &Config,
    images: &[PathBuf],
) -> bool {
    lock(world).faulty = true;
    // Apart from the plan's draws, so that the storms of every seed stay as they were.
    let mut sessions = SmallRng::seed_from_u64(seed ^ 0xc4ed_c4ed_c4ed_c4ed);
    let runs: Vec<_> = (first..first + actors)
        .map(|id| machine(world, (plan, &mut sessions), id, config, images))
        .collect();
    let endings = futures_util::future::join_all(runs).await;
    lock(world).faulty = false;
    endings.iter().any(|e| matches!(e, Ending::Crashed))
}

/// Machine `id`: its role, clock, start and credentials drawn, and the run it makes.
fn machine<'a>(
    world: &Arc<Mutex<World>>,
    (plan, sessions): (&mut SmallRng, &mut SmallRng),
    id: usize,
    config: &'a Config,
    images: &'a [PathBuf],
) -> impl Future<Output = Ending> + use<'a> {
    let role = Role::draw(plan, images.len());
    // Each actor is a machine of its own, its clock off by up to a minute and a half.
    let skew = plan.random_range(-(MAX_SKEW_S as i64)..=MAX_SKEW_S as i64);
    lock(world).skews.insert(id, skew);
    // A prune comes when there may be versions to prune, during the other actors' runs.
    let later = if matches!(role, Role::Prune { .. }) {
        60_000
    } else {
        0
    };
    let start = Duration::from_millis(plan.random_range(0..3_000 + later));
    // Most promotes and aborts come from the person who held the deploy; the others race
    // them, as a second person would.
    let gate = matches!(role, Role::Promote | Role::Abort);
    let held_first = (gate && plan.random_bool(0.7)).then(|| {
        Role::Deploy(Deploy {
            hold: true,
            ..Deploy::of(plan.random_range(1..images.len()))
        })
    });
    // One machine in five runs on session credentials that expire 2.5 to 10 minutes after
    // it starts (a promote or abort starts later, once a hold is seen, and is left out).
    if !gate && sessions.random_bool(0.2) {
        let at = EPOCH + start.as_secs() + sessions.random_range(150..=600);
        lock(world).credentials.insert(id, at);
    }
    let world = world.clone();
    async move {
        tokio::time::sleep(start).await;
        if let Some(hold) = held_first
            && let Ending::Crashed = actor::run(&world, id, hold, config, images).await
        {
            return Ending::Crashed;
        }
        if gate {
            until_held(&world).await;
        }
        actor::run(&world, id, role, config, images).await
    }
}

/// As a person does before `promote` or `abort`: waits until `status` would show a hold
/// (at most two minutes), then the drawn moments it takes to decide.
async fn until_held(world: &Mutex<World>) {
    for _ in 0..120 {
        let held = lock(world)
            .gateway
            .stages
            .get(BLUE)
            .and_then(|blue| Lock::parse(&blue.stage.description).ok())
            .is_some_and(|l| l.hold.is_some());
        if held {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let decide = lock(world).rng.random_range(0..2_000);
    tokio::time::sleep(Duration::from_millis(decide)).await;
}
