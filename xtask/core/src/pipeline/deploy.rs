//! `deploy`: preflight → build → no-op check → lock → push → update → blue → verify → promote
//! → cleanup. Green (alias and stage) changes only in promote, after blue verified the very
//! version green will serve; the blue stage (the lock) is removed whatever happens.
use std::path::PathBuf;

use anyhow::{Result, bail};

use super::{
    BLUE, Candidate, Cloud, Ctx, LockOptions, Phase, Plan, Watched,
    preflight::{Preflight, is_deployed, preflight},
    rollout::under_way,
    update::Published,
};

use crate::{
    image::{Built, Image},
    ledger::{self, Promotion},
    secret::Secret,
};

mod report;
use report::report;
pub use report::{Outcome, Report};

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Deploy an image built earlier by `build` instead of building one.
    pub image: Option<PathBuf>,
    pub build_id: Option<String>,
    pub keep_blue: bool,
    pub break_lock: bool,
    pub unpin: bool,
    /// Move the function to deploy.toml's architecture when it runs on the other one.
    pub switch_architecture: bool,
    pub dry_run: bool,
    /// `--hold`: stop after verification with blue kept and the lock held this long, for
    /// `promote` (or `abort`).
    pub hold: Option<std::time::Duration>,
    /// `--strategy`/`--bake`, else deploy.toml's `[rollout]`.
    pub rollout: Option<Plan>,
    /// `--force`: ship a version whose earlier rollout failed.
    pub force: bool,
}

pub async fn run<C: Cloud>(ctx: &Ctx<C>, options: &Options) -> Result<Report> {
    let p = &ctx.progress;
    let pre = p.phase(Phase::Preflight, preflight(ctx, options)).await?;
    // Before anything is written: a held deploy rolls out at `promote`, which checks it there.
    if options.hold.is_none() {
        ctx.check_plan_fits(plan_of(ctx, options), super::rollout::BEFORE_ROLLOUT)?;
    }
    let (built, image) = p.phase(Phase::Build, ctx.image(options)).await?;
    let mut report = report(ctx, &pre, &built);
    if no_op_check(ctx, &pre, &built).await? {
        report.rollout = already_deployed(ctx, &pre, &built, options).await?;
        report.phases = p.times();
        return Ok(report);
    }
    if options.dry_run {
        report.outcome = Outcome::Planned;
        report.plan = plan(ctx, &pre, &built);
        report.phases = p.times();
        return Ok(report);
    }
    let (version, watched) = lock_and_ship(ctx, &pre, &built, &image, options).await?;
    let hold = options.hold.is_some();
    if options.keep_blue || hold {
        report.blue_url = Some(ctx.stage_url(&pre.api, BLUE));
    }
    if hold {
        report.outcome = Outcome::Held;
        report.held = Some(version);
        report.plan = super::hold::instructions(ctx, &pre.api, version);
    } else {
        report.outcome = Outcome::of(watched.as_ref());
        report.previous = report.version;
        report.version = Some(version);
        report.rollout = watched;
    }
    report.phases = p.times();
    Ok(report)
}

/// The no-op check: whether green already runs this build with this configuration, alone.
async fn no_op_check<C: Cloud>(ctx: &Ctx<C>, pre: &Preflight, built: &Built) -> Result<bool> {
    ctx.progress
        .phase(Phase::NoOpCheck, async {
            // A split green is no finished deploy: "already deployed" would leave the canary's
            // weight unwatched, so the run goes on, settles the split under the lock and ships.
            let split = !pre.green.target.additional_weights.is_empty();
            anyhow::Ok(!split && is_deployed(&pre.green_version, built, &pre.settings))
        })
        .await
}

/// Green already runs this build: `--unpin` lifts a rollback's pin, and a run killed past
/// promote is finished. Returns what a resumed bake watched.
async fn already_deployed<C: Cloud>(
    ctx: &Ctx<C>,
    pre: &Preflight,
    built: &Built,
    options: &Options,
) -> Result<Option<Watched>> {
    let p = &ctx.progress;
    p.note(format_args!(
        "already deployed: green runs {} with this configuration",
        built.digest
    ));
    if pre.pinned && options.unpin && !options.dry_run {
        super::unpin::unpin(ctx, false, options.break_lock).await?;
        p.note("--unpin: green stays on this build and is no longer pinned");
    }
    // A re-run after a run killed past promote: only its lock is left to remove, and the bake
    // it was in, if any, to finish (not in a dry run, which writes nothing). The bake is
    // carried on as `resume` does, holding the lock: a revert without it landed under a live
    // lock of another run (the simulation's seed 25954).
    if options.dry_run {
        return Ok(None);
    }
    let baking = Promotion::parse(&pre.green.description).is_ok_and(|p| p.baking.is_some());
    if baking {
        return Ok(super::resume::run(ctx, options.break_lock, false)
            .await?
            .rollout);
    }
    ctx.release_left_lock(&pre.api, options.break_lock).await?;
    Ok(None)
}

/// The lock (stage blue) around [`ship`], released whatever ends it unless `--keep-blue` or
/// `--hold` keeps it; returns what `ship` returns.
async fn lock_and_ship<C: Cloud>(
    ctx: &Ctx<C>,
    pre: &Preflight,
    built: &Built,
    image: &Image,
    options: &Options,
) -> Result<(u64, Option<Watched>)> {
    // A hold records green's RevisionId for `promote`; the settle of a split under it would
    // change that RevisionId, and the hold could never be promoted.
    if options.hold.is_some() && !pre.green.target.additional_weights.is_empty() {
        bail!(
            "green is split by a rollout that did not finish: a hold taken now could never be promoted; `cargo xtask deploy` without --hold settles the split first (or `cargo xtask rollback` ends it), then hold"
        );
    }
    let lock = lock_options(ctx, options);
    ctx.locked(
        &pre.api,
        &pre.green_stage.deployment_id,
        &built.facts.git_sha,
        lock,
        pre.green.revision_id.as_deref(),
        move |token| async move { ship(ctx, pre, built, image, &token, options).await },
    )
    .await
}

/// How a deploy takes the lock: kept after `--keep-blue` and `--hold`, the hold's span and
/// rollout recorded for `promote`.
fn lock_options<C: Cloud>(ctx: &Ctx<C>, options: &Options) -> LockOptions {
    LockOptions {
        break_lock: options.break_lock,
        keep: options.keep_blue || options.hold.is_some(),
        hold: options.hold,
        rollout: Some(plan_of(ctx, options)),
        ..LockOptions::default()
    }
}

/// The phases between lock and cleanup; returns the promoted version and what its rollout
/// watched.
async fn ship<C: Cloud>(
    ctx: &Ctx<C>,
    pre: &Preflight,
    built: &Built,
    image: &Image,
    token: &Secret,
    options: &Options,
) -> Result<(u64, Option<Watched>)> {
    let (registry, repository) = ctx.registry().await?;
    // Holding the lock now: a rollout an earlier run began of this build is carried on;
    // any other split is this run's to settle.
    let registry_of = (&registry, repository.name.as_str());
    if let Some(carried) = rollout_left(ctx, pre, built, token, registry_of).await? {
        return Ok(carried);
    }
    let green = ctx
        .settle_split((&pre.api, token.expose()), pre.green.clone())
        .await?;
    let seen_at = tokio::time::Instant::now();
    ctx.refuse_failed_image((&registry, &repository.name), &built.digest, options.force)
        .await?;
    ctx.push_phase(&registry, &repository, built, image).await?;
    let image_ref = repository.image(&built.digest);
    let Published {
        version,
        record,
        description,
    } = ctx.update_phase(built, &image_ref, &pre.settings).await?;
    ctx.progress
        .note(format_args!("published version {version}"));

    let candidate = Candidate {
        version,
        record: &record,
        description: &description,
        pin: false,
    };
    let registry = (&registry, repository.name.as_str());
    if options.hold.is_some() {
        // A hold stops with the candidate verified on blue: `promote` takes it to green.
        ctx.verify_on_blue(&pre.api, token, candidate, registry)
            .await?;
        let stack = (
            pre.green_stage.deployment_id.as_str(),
            built.facts.git_sha.as_str(),
        );
        let revision = pre.green.revision_id.as_deref();
        ctx.begin_hold(&pre.api, stack, lock_options(ctx, options), revision, token)
            .await?;
        return Ok((version, None));
    }
    let plan = plan_of(ctx, options);
    let watched = ctx
        .blue_then_green(
            &pre.api,
            token,
            (&green, seen_at),
            candidate,
            plan,
            registry,
        )
        .await?;
    Ok((version, watched))
}

/// A rollout an earlier run began and left under way (killed, or handed off): carried on when
/// this deploy ships its build again (a re-run of that deploy). A deploy of another build
/// supersedes it: `None`, and the split is settled before this build rolls out, as the newest
/// build is what green is headed for (and a crashed rollout never blocks the next deploy).
/// `None` too when green's record names no rollout under way.
async fn rollout_left<C: Cloud>(
    ctx: &Ctx<C>,
    pre: &Preflight,
    built: &Built,
    token: &Secret,
    registry: (&C::Registry, &str),
) -> Result<Option<(u64, Option<Watched>)>> {
    let Some(rolling) = under_way(&pre.green) else {
        return Ok(None);
    };
    let (_, record) = ctx.version_record(&rolling.to.to_string()).await?;
    if record.digest != built.digest {
        ctx.progress.note(format_args!(
            "green is mid-rollout of version {} (build {}), begun by an earlier run: this build supersedes it",
            rolling.to,
            ledger::short(&record.git_sha)
        ));
        return Ok(None);
    }
    let watched = ctx
        .resume((&pre.api, token), &pre.green, &rolling, registry)
        .await?;
    Ok(Some((rolling.to, Some(watched))))
}

/// `--strategy`/`--bake`, else deploy.toml's `[rollout]`.
fn plan_of<C: Cloud>(ctx: &Ctx<C>, options: &Options) -> Plan {
    options
        .rollout
        .unwrap_or_else(|| Plan::configured(&ctx.config.rollout))
}

/// What a real run would write, for `--dry-run`.
fn plan<C: Cloud>(ctx: &Ctx<C>, pre: &Preflight, built: &Built) -> Vec<String> {
    let function = ctx.function();
    vec![
        format!(
            "create stage blue of API {} from green's deployment {} (the lock)",
            pre.api.name, pre.green_stage.deployment_id
        ),
        format!(
            "push image {} to repository {}",
            built.digest,
            ctx.config.repository_name()
        ),
        format!(
            "update {function}: code to {} on {}, configuration from deploy.toml; publish a version",
            built.digest, ctx.config.function.architecture
        ),
        format!(
            "point alias blue at the new version and verify stage blue ({})",
            ctx.stage_url(&pre.api, BLUE)
        ),
        format!(
            "move alias green from version {} to the new version; tag the image verified-N",
            pre.green.target.version
        ),
        "delete stage blue".into(),
    ]
}
