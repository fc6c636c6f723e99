//! The actors: each runs one real verb of the pipeline (`deploy::run`, `rollback::run`,
//! `unpin::unpin`, `status`, `history`, `verify`, `provision::run`, `destroy::run`, the dry runs) against its
//! own handle on the world, as one process would; a crash drops its run where it stood.
use std::{
    fmt,
    future::Future,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::Result;
use rand::{Rng, rngs::SmallRng};
use tokio::sync::Notify;

use super::{cloud::SimCloud, traffic::SimCloudWatch, world::World};
use bgd_core::{
    config::Config,
    ledger,
    outcome::exit_of,
    pipeline::{
        Ctx, deploy, destroy, history, hold, provision, prune, resume, rollback, statement, status,
        unpin,
    },
    probe::Prober,
    progress::Progress,
};

/// What an actor runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Role {
    Provision,
    Deploy(Deploy),
    Rollback {
        to: Option<u64>,
    },
    Unpin,
    /// `promote` of a held deploy.
    Promote,
    /// `abort` of a held deploy.
    Abort,
    /// `resume` of a rollout an earlier run began (handed off, or left by a crash).
    Resume,
    /// `prune --keep N`.
    Prune {
        keep: usize,
    },
    /// `destroy`: everything provision made.
    Destroy,
    Status,
    History,
    VerifyGreen,
    DeployDryRun {
        build: usize,
    },
    RollbackDryRun,
}

impl Role {
    /// A verb that must send no write at all.
    pub(crate) fn read_only(&self) -> bool {
        matches!(
            self,
            Self::Status
                | Self::History
                | Self::VerifyGreen
                | Self::DeployDryRun { .. }
                | Self::RollbackDryRun
        )
    }

    pub(crate) fn break_lock(&self) -> bool {
        matches!(
            self,
            Self::Deploy(Deploy {
                break_lock: true,
                ..
            })
        )
    }

    /// A concurrent actor's role, drawn: mostly deploys of the builds (some held), with
    /// rollbacks, unpins, promotes and aborts of holds, and read-only verbs among them.
    pub(crate) fn draw(rng: &mut SmallRng, builds: usize) -> Self {
        let build = rng.random_range(1..builds);
        match rng.random_range(0..27) {
            25 | 26 => Self::Prune {
                keep: rng.random_range(1..3),
            },
            20 | 21 => Self::Deploy(Deploy {
                hold: true,
                ..Deploy::of(build)
            }),
            22 | 23 => Self::Promote,
            24 => Self::Abort,
            0..=8 => Self::Deploy(Deploy::of(build)),
            9 => Self::Deploy(Deploy {
                unpin: true,
                ..Deploy::of(build)
            }),
            10..=12 => Self::Rollback {
                to: rng.random_bool(0.5).then(|| rng.random_range(1..4)),
            },
            13 => Self::Unpin,
            14 => Self::Status,
            15 => Self::History,
            16 => Self::VerifyGreen,
            17 => Self::DeployDryRun { build },
            18 => Self::RollbackDryRun,
            19 => Self::Resume,
            _ => Self::Deploy(Deploy::of(build)),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Provision => write!(f, "provision"),
            Self::Deploy(deploy) => {
                write!(f, "deploy b{}", deploy.build)?;
                for (set, flag) in [
                    (deploy.hold, " --hold"),
                    (deploy.unpin, " --unpin"),
                    (deploy.break_lock, " --break-lock"),
                    (deploy.force, " --force"),
                ] {
                    if set {
                        write!(f, "{flag}")?;
                    }
                }
                Ok(())
            }
            Self::Rollback { to: Some(to) } => write!(f, "rollback --to {to}"),
            Self::Rollback { to: None } => write!(f, "rollback"),
            Self::Unpin => write!(f, "unpin"),
            Self::Resume => write!(f, "resume"),
            Self::Promote => write!(f, "promote"),
            Self::Abort => write!(f, "abort"),
            Self::Prune { keep } => write!(f, "prune --keep {keep}"),
            Self::Destroy => write!(f, "destroy"),
            Self::Status => write!(f, "status"),
            Self::History => write!(f, "history"),
            Self::VerifyGreen => write!(f, "verify --stage green"),
            Self::DeployDryRun { build } => write!(f, "deploy b{build} --dry-run"),
            Self::RollbackDryRun => write!(f, "rollback --dry-run"),
        }
    }
}

/// A deploy of build `build` with its flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Deploy {
    pub build: usize,
    pub unpin: bool,
    pub break_lock: bool,
    pub force: bool,
    /// `--hold`: verified on blue, then waiting for `promote` or `abort`.
    pub hold: bool,
}

impl Deploy {
    /// A plain deploy of build `build`.
    pub(crate) fn of(build: usize) -> Self {
        Self {
            build,
            unpin: false,
            break_lock: false,
            force: false,
            hold: false,
        }
    }
}

/// How an actor's run ended.
pub(crate) enum Ending {
    Done(Result<String>),
    Crashed,
}

/// Runs `role` as actor `actor`: its own context (cloud handle, prober, progress into the
/// trace), racing its own crash.
pub(crate) async fn run(
    world: &Arc<Mutex<World>>,
    actor: usize,
    role: Role,
    config: &Config,
    images: &[PathBuf],
) -> Ending {
    let crashed = Arc::new(Notify::new());
    let ctx = context(world, actor, &role, config, crashed.clone());
    let skew = ctx.cloud.world().skews.get(&actor).copied().unwrap_or(0);
    // On the heap from the start: a verb's future is about 120 KB in debug builds, and each
    // layer that held it (the clock's skew, the select, the runs joined, `converge`) copied
    // it whole.
    let work = ledger::skewed(skew, Box::pin(act(&ctx, &role, images)));
    // Biased: once the process died, its run is never polled again (no cleanup runs).
    let ending = tokio::select! {
        biased;
        () = crashed.notified() => Ending::Crashed,
        result = work => Ending::Done(result),
    };
    ctx.cloud.world().oracle.run_ended(actor);
    let line = || match &ending {
        Ending::Crashed => format!("a{actor} crashed"),
        Ending::Done(Ok(said)) => format!("a{actor} ends: {said}"),
        Ending::Done(Err(e)) => format!(
            "a{actor} fails (exit {:?}): {}",
            bgd_core::outcome::exit_of(e),
            format!("{e:#}").lines().next().unwrap_or_default()
        ),
    };
    ctx.cloud.world().note(line);
    ending
}

/// Actor `actor`'s context for `role`: its own cloud handle, prober and progress into the
/// trace; `crashed` is told when its process dies.
pub(crate) fn context(
    world: &Arc<Mutex<World>>,
    actor: usize,
    role: &Role,
    config: &Config,
    crashed: Arc<Notify>,
) -> Ctx<SimCloud> {
    let cloud = SimCloud {
        world: world.clone(),
        actor,
        role: role.clone(),
        crashed,
    };
    let cloud_watch = cloud.clone();
    let traced = world.clone();
    let progress = Progress::traced(Arc::new(move |phase, ended| {
        let mut w = traced.lock().unwrap_or_else(|e| e.into_inner());
        w.note(|| match ended {
            None => format!("a{actor} == {}", phase.name()),
            Some(true) => format!("a{actor} == {} ok", phase.name()),
            Some(false) => format!("a{actor} == {} FAILED", phase.name()),
        });
    }));
    cloud.world().note(|| format!("a{actor} starts {role}"));
    let (timeout_s, hand_off) = timeout_and_hand_off(role);
    let credentials_expire = (cloud.world().credentials.get(&actor))
        .map(|at| std::time::UNIX_EPOCH + Duration::from_secs(*at));
    Ctx {
        prober: Prober::new(cloud.clone()),
        cloud,
        config: config.clone(),
        account: super::world::ACCOUNT.into(),
        local_gateway: Some(super::world::GATEWAY.into()),
        function_log: None,
        progress,
        deadline: ledger::run_deadline(timeout_s, credentials_expire),
        credentials_expire,
        hand_off,
        green_writes: Default::default(),
        traffic: Some(Box::new(SimCloudWatch(cloud_watch))),
    }
}

/// A run's `--timeout` and `--hand-off`: `resume` hands off; deploys of build [`HANDS_OFF`] with
/// 90 s (their watch stops a minute before, amid the rollouts' seconds-long steps); others 30 min.
fn timeout_and_hand_off(role: &Role) -> (u64, bool) {
    match role {
        Role::Resume => (30 * 60, true),
        Role::Deploy(deploy) if deploy.build == HANDS_OFF => (90, true),
        _ => (30 * 60, false),
    }
}

/// The build whose deploys hand their rollouts off.
const HANDS_OFF: usize = 2;

/// How long `deploy --hold` holds (the flag's default, in the simulation's minutes).
const HOLD: Duration = Duration::from_secs(10 * 60);

/// Runs a verb that may move green as `xtask` runs it (`statement::stating_green`): its
/// closing statement and exit code go to the oracle, and the statement into the trace.
async fn stated(
    ctx: &Ctx<SimCloud>,
    role: &Role,
    work: impl Future<Output = Result<String>>,
) -> Result<String> {
    // On the heap: a verb's future is large in debug builds, and moved by each layer.
    let (result, green) = statement::stating_green(ctx, Box::pin(work)).await;
    let exit = result.as_ref().err().map(exit_of);
    let actor = ctx.cloud.actor;
    ctx.cloud.world().oracle.stated(actor, role, &green, exit);
    result.map(|said| format!("{said}; {green}"))
}

/// Runs `role`, a verb that may move green through its closing statement ([`stated`]).
async fn act(ctx: &Ctx<SimCloud>, role: &Role, images: &[PathBuf]) -> Result<String> {
    match role {
        Role::Deploy(_)
        | Role::DeployDryRun { .. }
        | Role::Promote
        | Role::Rollback { .. }
        | Role::RollbackDryRun
        | Role::Resume => stated(ctx, role, on_green(ctx, role, images)).await,
        _ => elsewhere(ctx, role, images).await,
    }
}

/// A deploy of `build`'s image with no flags.
fn deploy_options(images: &[PathBuf], build: usize) -> deploy::Options {
    deploy::Options {
        image: Some(images[build].clone()),
        ..Default::default()
    }
}

/// The verbs that may move green: what each says it did.
async fn on_green(ctx: &Ctx<SimCloud>, role: &Role, images: &[PathBuf]) -> Result<String> {
    Ok(match role {
        Role::Deploy(flags) => {
            let options = deploy::Options {
                unpin: flags.unpin,
                break_lock: flags.break_lock,
                force: flags.force,
                hold: flags.hold.then_some(HOLD),
                ..deploy_options(images, flags.build)
            };
            let report = deploy::run(ctx, &options).await?;
            let version = report.held.or(report.version);
            format!("{:?} version {version:?}", report.outcome)
        }
        Role::DeployDryRun { build } => {
            let options = deploy::Options {
                dry_run: true,
                ..deploy_options(images, *build)
            };
            format!("{:?}", deploy::run(ctx, &options).await?.outcome)
        }
        Role::Promote => {
            let report = hold::promote_held(ctx, hold::Options::default()).await?;
            format!("promoted version {:?}", report.version)
        }
        Role::Rollback { to } => {
            let options = rollback::Options {
                to: *to,
                ..Default::default()
            };
            let report = rollback::run(ctx, options).await?;
            format!("rolled back {} → {}", report.from, report.to)
        }
        Role::RollbackDryRun => {
            let options = rollback::Options {
                dry_run: true,
                ..Default::default()
            };
            let report = rollback::run(ctx, options).await?;
            format!("would roll back {} → {}", report.from, report.to)
        }
        Role::Resume => {
            let report = resume::run(ctx, false, false).await?;
            format!("{:?} version {:?}", report.outcome, report.version)
        }
        _ => unreachable!("`act` sends only the verbs that may move green here"),
    })
}

/// The verbs that never move green (or, like destroy, remove it whole).
async fn elsewhere(ctx: &Ctx<SimCloud>, role: &Role, images: &[PathBuf]) -> Result<String> {
    Ok(match role {
        Role::Provision => {
            let report = provision::run(ctx, &deploy_options(images, 0)).await?;
            format!("provisioned, green serves {:?}", report.version)
        }
        Role::Abort => hold::abort(ctx, false).await?,
        Role::Prune { keep } => {
            let options = prune::Options {
                keep: *keep,
                dry_run: false,
            };
            let report = prune::run(ctx, &options).await?;
            format!(
                "pruned versions {:?}, images {}",
                report.deleted_versions,
                report.deleted_images.len()
            )
        }
        Role::Destroy => format!(
            "removed {}",
            destroy::run(ctx, false, false).await?.join(", ")
        ),
        Role::Unpin => unpin::unpin(ctx, false, false).await?,
        Role::Status => {
            let status = status::status(ctx, false).await?;
            format!("status of {}", status.function)
        }
        Role::History => format!("{} versions", history::history(ctx).await?.versions.len()),
        Role::VerifyGreen => {
            let report = status::verify(ctx, bgd_core::pipeline::GREEN, None).await?;
            format!("green reports version {:?}", report.report.version)
        }
        _ => unreachable!("`act` sends the verbs that may move green to `on_green`"),
    })
}
