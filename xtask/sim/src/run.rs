//! One run: a fresh world from the seed, a provision without faults, then the seed's actors at
//! once with faults; at quiescence, with faults off, a plain deploy must converge (a refusal
//! must name its reason: the lock, with --break-lock after; the pin, with --unpin after), and
//! then no stage blue is left and every published version carries its ledger record. The
//! storm in `storm.rs`, what a run may meet after it in `after.rs`, convergence in
//! `converge.rs`.
use std::{
    collections::BTreeMap,
    hash::Hasher,
    path::PathBuf,
    sync::{Arc, Mutex},
};

use anyhow::{Context, Result};
use rand::{Rng, SeedableRng, rngs::SmallRng};

use super::{
    actor::{self, Deploy, Ending, Role},
    app::{App, Behaviour},
    fault::{FaultCounts, Rates},
    world::{EPOCH, World},
};
use bgd_core::{
    config::Config,
    facts::BuildFacts,
    image::{Built, Contents, Image},
};

mod after;
mod converge;
mod storm;

/// The simulation's deploy.toml: one smoke check the simulated app answers.
const DEPLOY_TOML: &str = r#"
[project]
name = "sim"
region = "us-east-1"

[function]
architecture = "x86_64"
memory_mb = 256
timeout_s = 10

[function.environment]
GREETING = "hello from sim"

[[smoke]]
path = "/"
status = 200
contains = "hello"
"#;

/// The rollouts a run's deploy.toml may add to [`DEPLOY_TOML`] (none on half the runs): a
/// canary, and linear steps with a bake watched by the alarm too. Steps of seconds: the
/// simulated CloudWatch's lag is drawn around them (`traffic.rs`).
const ROLLOUTS: [&str; 2] = [
    r#"
[rollout]
strategy = "canary:10:10s"
min_requests = 5
"#,
    r#"
[rollout]
strategy = "linear:50:5s"
bake = "10s"
min_requests = 5
alarms = ["sim-green-errors"]
"#,
];

/// The builds actors ship: 0 is provision's; 3 fails verification; 4 answers errors to some
/// requests; 5 passes every check and crashes under real traffic.
const BEHAVIOURS: [Behaviour; 6] = [
    Behaviour::Healthy,
    Behaviour::Healthy,
    Behaviour::Healthy,
    Behaviour::BrokenHealth,
    Behaviour::Flaky,
    Behaviour::Crashing,
];

/// What every run shares: the configuration and the prebuilt images (no build in a run).
pub(crate) struct Fixtures {
    /// deploy.toml without a rollout.
    pub config: Config,
    /// deploy.toml with each of [`ROLLOUTS`].
    pub rolling: Vec<Config>,
    pub images: Vec<PathBuf>,
    apps: BTreeMap<String, App>,
}

/// Writes the builds' OCI layouts (tiny layers, real manifests) under target/sim once.
pub(crate) fn prepare() -> Result<Fixtures> {
    let config = Config::parse(DEPLOY_TOML)?;
    let rolling = ROLLOUTS
        .iter()
        .map(|rollout| Config::parse(&format!("{DEPLOY_TOML}{rollout}")))
        .collect::<Result<_>>()?;
    let root = bgd_core::setup::target_dir().join("sim");
    let mut images = Vec::new();
    let mut apps = BTreeMap::new();
    for (n, behaviour) in BEHAVIOURS.into_iter().enumerate() {
        let facts = BuildFacts {
            git_sha: format!("{n}").repeat(40),
            dirty: false,
            built_at: "2026-01-01T00:00:00Z".into(),
            commit_epoch: EPOCH,
            build_id: None,
        };
        let bootstrap = format!("simulated app, build {n}, {behaviour:?}");
        let contents = Contents {
            bootstrap: bootstrap.as_bytes(),
            ca_bundle: b"",
        };
        let image = Image::assemble(&contents, "x86_64", &facts.built_at, facts.commit_epoch)?;
        let dir = root.join(format!("b{n}"));
        // Written only when not there already: a batch that rewrote them under another batch
        // on the same target directory failed its deploys ("reading blob …: No such file").
        if !Built::read(&dir).is_ok_and(|(built, _)| built.digest == image.digest()) {
            image.write_layout(&dir)?;
            Built::record(&dir, &image, facts.clone())
                .with_context(|| format!("writing build {n} of the simulation"))?;
        }
        apps.insert(image.digest(), App { facts, behaviour });
        images.push(dir);
    }
    Ok(Fixtures {
        config,
        rolling,
        images,
        apps,
    })
}

/// What a run did and found.
pub(crate) struct Outcome {
    pub steps: u64,
    pub faults: FaultCounts,
    /// A digest of the (actor, call) order: equal for runs that interleaved alike.
    pub schedule: u64,
    pub trace: Vec<String>,
    pub violations: Vec<String>,
}

/// Runs seed `seed`: `fresh` starts from a just-provisioned stack, else from one with a deploy
/// after provision; `traced` keeps its steps' lines.
pub(crate) fn run_one(
    seed: u64,
    (actors, fresh, traced): (usize, bool, bool),
    fixtures: &Fixtures,
) -> Outcome {
    bgd_core::secret::forget_all();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime builds");
    runtime.block_on(simulate(seed, (actors, fresh, traced), fixtures))
}

async fn simulate(
    seed: u64,
    (actors, fresh, traced): (usize, bool, bool),
    fixtures: &Fixtures,
) -> Outcome {
    // Records' times and lock expiries from virtual time, or a second's tick would change a
    // Description, and the tags named after it, between two runs of one seed.
    let _clock = bgd_core::ledger::virtual_clock(EPOCH);
    let mut plan = SmallRng::seed_from_u64(seed ^ 0x5eed_5eed_5eed_5eed);
    let world = Arc::new(Mutex::new(World::new(seed, Rates::draw(&mut plan))));
    {
        let mut w = lock(&world);
        w.apps = fixtures.apps.clone();
        w.trace = traced.then(Vec::new);
    }
    let config = match plan.random_range(0..2 * ROLLOUTS.len()) {
        n if n < ROLLOUTS.len() => &fixtures.rolling[n],
        _ => &fixtures.config,
    };
    let images = fixtures.images.as_slice();
    let first = set_up(&world, fresh, config, images).await;
    let machines = (first, actors);
    let crashed = storm::storm(&world, (seed, &mut plan), machines, config, images).await;
    // Drawn after the storm's draws, which stay as they were.
    after::drawn(&world, &mut plan, first + actors, config, images).await;
    converge::converge(&world, first + actors, crashed, config, images).await;
    // Settled, with many versions published: prune must keep all that green, a rollback and
    // `--keep` need (the oracle judges each deletion), and fail only on a reason.
    if lock(&world).oracle.violations.is_empty() {
        let prune = Role::Prune { keep: 3 };
        let id = first + actors + 10;
        if let Ending::Done(Err(e)) = actor::run(&world, id, prune, config, images).await {
            lock(&world)
                .oracle
                .fail(format!("prune --keep 3 after the storm failed: {e:#}"));
        }
    }

    let mut w = lock(&world);
    Outcome {
        steps: w.steps,
        faults: w.faults.clone(),
        schedule: w.schedule.finish(),
        trace: w.trace.take().unwrap_or_default(),
        violations: std::mem::take(&mut w.oracle.violations),
    }
}

/// Provisioned with build 0; unless `fresh`, then build 2 deployed, so a plain rollback has a
/// promotion to undo from the first moment. Returns the storm's first actor.
async fn set_up(
    world: &Arc<Mutex<World>>,
    fresh: bool,
    config: &Config,
    images: &[PathBuf],
) -> usize {
    let mut setup = vec![Role::Provision];
    if !fresh {
        setup.push(Role::Deploy(Deploy::of(2)));
    }
    let first = setup.len();
    for (id, role) in setup.into_iter().enumerate() {
        let label = role.to_string();
        if let Ending::Done(Err(e)) = actor::run(world, id, role, config, images).await {
            lock(world)
                .oracle
                .fail(format!("{label} without faults failed: {e:#}"));
        }
    }
    first
}

/// A world of seed `seed` just provisioned with build 0 (green on version 1), its faults off:
/// where a named scenario starts, on the paused clock it must run on.
#[cfg(test)]
pub(crate) async fn provisioned(seed: u64, fixtures: &Fixtures) -> Arc<Mutex<World>> {
    let mut plan = SmallRng::seed_from_u64(seed);
    let world = Arc::new(Mutex::new(World::new(seed, Rates::draw(&mut plan))));
    lock(&world).apps = fixtures.apps.clone();
    let provision = actor::run(
        &world,
        0,
        Role::Provision,
        &fixtures.config,
        &fixtures.images,
    );
    match provision.await {
        Ending::Done(Ok(_)) => world,
        Ending::Done(Err(e)) => panic!("provision without faults failed: {e:#}"),
        Ending::Crashed => panic!("provision without faults crashed"),
    }
}

pub(super) fn lock(world: &Mutex<World>) -> std::sync::MutexGuard<'_, World> {
    world.lock().unwrap_or_else(|e| e.into_inner())
}
