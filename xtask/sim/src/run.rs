//! One run: a fresh world from the seed, a provision without faults, then the seed's actors at
//! once with faults; at quiescence, with faults off, a plain deploy must converge (a refusal
//! must name its reason: the lock, with --break-lock after; the pin, with --unpin after), and
//! then no stage blue is left and every published version carries its ledger record.
use std::{
    collections::BTreeMap,
    hash::Hasher,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::{Context, Result};
use rand::{Rng, SeedableRng, rngs::SmallRng};

use super::{
    actor::{self, Deploy, Ending, Role},
    app::{App, Behaviour},
    fault::{FaultCounts, Rates},
    oracle::Holder,
    world::{EPOCH, MAX_SKEW_S, World},
};
use bgd_core::{
    config::Config,
    facts::BuildFacts,
    image::{Built, Contents, Image},
    ledger::{Lock, VersionRecord},
    outcome::{Exit, exit_of},
    pipeline::{BLUE, GREEN},
};

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

    // Provisioned with build 0; unless fresh, then build 2 deployed, so a plain rollback has
    // a promotion to undo from the first moment.
    let mut setup = vec![Role::Provision];
    if !fresh {
        setup.push(Role::Deploy(Deploy::of(2)));
    }
    let first = setup.len();
    for (id, role) in setup.into_iter().enumerate() {
        let label = role.to_string();
        if let Ending::Done(Err(e)) = actor::run(&world, id, role, config, images).await {
            lock(&world)
                .oracle
                .fail(format!("{label} without faults failed: {e:#}"));
        }
    }

    lock(&world).faulty = true;
    // Apart from the plan's draws, so that the storms of every seed stay as they were.
    let mut sessions = SmallRng::seed_from_u64(seed ^ 0xc4ed_c4ed_c4ed_c4ed);
    let runs = (first..first + actors).map(|id| {
        let role = Role::draw(&mut plan, images.len());
        // Each actor is a machine of its own, its clock off by up to a minute and a half.
        let skew = plan.random_range(-(MAX_SKEW_S as i64)..=MAX_SKEW_S as i64);
        lock(&world).skews.insert(id, skew);
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
            lock(&world).credentials.insert(id, at);
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
    });
    let endings = futures_util::future::join_all(runs.collect::<Vec<_>>()).await;
    let crashed = endings.iter().any(|e| matches!(e, Ending::Crashed));
    lock(&world).faulty = false;

    // Drawn after the storm's draws, which stay as they were.
    if plan.random_bool(0.125) {
        torn_down_and_provisioned(&world, first + actors + 20, config, images).await;
    }
    converge(&world, first + actors, crashed, config, images).await;
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
                    super::cloud::expire_lock(&mut w);
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

fn lock(world: &Mutex<World>) -> std::sync::MutexGuard<'_, World> {
    world.lock().unwrap_or_else(|e| e.into_inner())
}

/// The next plain run after the storm: a deploy of build 1 must finish, or refuse with a
/// reason whose documented remedy then finishes it: the lock (--break-lock), the pin
/// (--unpin), build 1 recorded as failed by a rollout the storm's faults reverted (--force),
/// an alarm still firing (deploy once it is OK again; when green's own version keeps it
/// firing, as the advice says: rollback, then deploy --unpin), a bake left unfinished that
/// reverts (exit 7: deploy again). A dead run's lock stays until its TTL passes: then a plain run
/// removes it (an operator's, which never expires, takes --break-lock).
async fn converge(
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
                        super::cloud::expire_lock(&mut w);
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
