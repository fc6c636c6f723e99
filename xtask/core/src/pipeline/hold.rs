//! A human gate between blue and green: `deploy --hold` stops with blue verified and the lock
//! held; `promote` moves green to exactly that version, `abort` ends the hold. Promote trusts
//! nothing it did not check again: the hold is live, blue still reports the held version and
//! build, the version passes the one verification rule, and green has not moved since the hold
//! (its RevisionId, kept in the lock, guards the promotion). Then it ends as the held deploy
//! would have: the same rollout (the hold's strategy and bake, unless `promote` names others),
//! rolled back by itself on a breach, and the hold released whatever ends it.
use anyhow::{Context, Result, bail};

use super::{
    BLUE, Candidate, Cloud, Ctx, GREEN, LockOptions, Phase, Plan, TOKEN_VARIABLE, Watched,
    absent_as_none, deploy,
};
use crate::{
    cloud::{Alias, Repository, RestApi, Stage, Version},
    config::{Strategy, parse_duration},
    ledger::{Hold, Lock, Task, VersionRecord},
    outcome::{Exit, refuse},
    probe::Endpoint,
    secret::Secret,
};

/// What to do with a held deploy, printed by `deploy --hold`.
pub(crate) fn instructions<C: Cloud>(ctx: &Ctx<C>, api: &RestApi, version: u64) -> Vec<String> {
    let blue = ctx.stage_url(api, BLUE);
    vec![
        format!(
            "look at version {version} on blue: curl -H \"x-verify-token: $TOKEN\" {blue}{}",
            ctx.config.app.version_path
        ),
        "the token: cargo xtask status --show-token --json | jq -r '.stages[] | select(.stage==\"blue\") | .variables.verify_token'".into(),
        format!("cargo xtask promote: green → version {version}, as a deploy would"),
        "cargo xtask abort: remove blue, green unchanged".into(),
    ]
}

/// The held deploy: stage blue, its lock and hold, and the version blue points at.
struct Held {
    api: RestApi,
    blue: Stage,
    lock: Lock,
    hold: Hold,
}

/// The held deploy, or why there is none (no stage blue, or the lock of a running deploy or
/// promote).
async fn held<C: Cloud>(ctx: &Ctx<C>) -> Result<Held> {
    let api = ctx.find_api().await?.with_context(|| {
        format!(
            "there is no REST API {}: nothing is held",
            ctx.config.api_name()
        )
    })?;
    let Some(blue) = absent_as_none(ctx.cloud.get_stage(&api.id, BLUE).await)? else {
        bail!("no deploy is held (there is no stage blue): `cargo xtask deploy --hold` makes one");
    };
    let lock = Lock::parse(&blue.description)
        .map_err(|_| anyhow::anyhow!("stage blue was not made by bgd: nothing is held"))?;
    let Some(hold) = lock.hold.clone() else {
        let why = match lock.task {
            Task::Promote => format!(
                "the hold is being promoted ({lock}): it ends with that run; `cargo xtask rollback` aborts its rollout"
            ),
            _ => format!(
                "stage blue is not a hold but the lock of a running {} ({lock}): wait for it to finish (or pass --break-lock to a deploy or rollback if it died)",
                lock.task
            ),
        };
        return Err(refuse(Exit::LockHeld, why));
    };
    Ok(Held {
        api,
        blue,
        lock,
        hold,
    })
}

/// How `promote` runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub dry_run: bool,
    /// `--strategy`, else the hold's, else deploy.toml's.
    pub strategy: Option<Strategy>,
    /// `--bake`, else the hold's, else deploy.toml's.
    pub bake: Option<std::time::Duration>,
}

/// The rollout `promote` runs: its flags, else what the held deploy recorded, else
/// deploy.toml's `[rollout]` (a hold taken before holds recorded it).
fn plan<C: Cloud>(ctx: &Ctx<C>, hold: &Hold, options: &Options) -> Result<Plan> {
    let configured = Plan::configured(&ctx.config.rollout);
    let strategy = match (options.strategy, &hold.strategy) {
        (Some(strategy), _) => strategy,
        (None, Some(held)) => held.parse()?,
        (None, None) => configured.strategy,
    };
    let bake = match (options.bake, &hold.bake) {
        (Some(bake), _) => bake,
        (None, Some(held)) => parse_duration(held)?,
        (None, None) => configured.bake,
    };
    Ok(Plan { strategy, bake })
}

/// `cargo xtask promote`, named `promote_held` beside the promote phase it ends in
/// ([`Ctx::promote`]): green → the held version by the held deploy's rollout, then cleanup,
/// as a deploy's last phases.
pub async fn promote_held<C: Cloud>(ctx: &Ctx<C>, options: Options) -> Result<deploy::Report> {
    let p = &ctx.progress;
    let checked = p.phase(Phase::CheckHold, check_hold(ctx)).await?;
    let plan = plan(ctx, &checked.held.hold, &options)?;
    // The promote's lock stands until its own deadline, whatever the hold had left.
    ctx.check_plan_fits(plan, std::time::Duration::ZERO)?;
    let mut report = report(
        ctx,
        &checked.held.api,
        &checked.green,
        checked.version,
        &checked.record,
    );
    if options.dry_run {
        report.outcome = deploy::Outcome::Planned;
        report.plan = vec![format!(
            "move alias green from version {} to {} ({}, bake {}); delete stage blue",
            checked.green.target.version,
            checked.version,
            plan.strategy,
            crate::config::show_duration(plan.bake)
        )];
        return Ok(report);
    }
    report.rollout = hold_then_green(ctx, checked, plan).await?;
    report.outcome = deploy::Outcome::of(report.rollout.as_ref());
    report.phases = p.times();
    Ok(report)
}

/// What the check of a hold found: the hold, the version blue points at and its verification,
/// green as it is now, and the registry.
struct Checked<R> {
    held: Held,
    version: u64,
    published: Version,
    record: VersionRecord,
    green: Alias,
    registry: (R, Repository),
}

/// The check-hold phase: the hold is live, blue points at a verified version of the held build
/// and still answers as it; then green is read.
async fn check_hold<C: Cloud>(ctx: &Ctx<C>) -> Result<Checked<C::Registry>> {
    let held = held(ctx).await?;
    if held.lock.is_expired() {
        bail!(
            "the hold expired ({}): `cargo xtask abort`, then deploy again",
            held.lock
        );
    }
    let blue = ctx.cloud.get_alias(ctx.function(), BLUE).await?;
    let version: u64 = blue
        .target
        .version
        .parse()
        .context("alias blue points at no published version")?;
    let published = ctx
        .cloud
        .get_version(ctx.function(), &version.to_string())
        .await?;
    let (registry, repository) = ctx.registry().await?;
    let record = ctx
        .verification(&registry, &repository.name, &published)
        .await?
        .map_err(|why| anyhow::anyhow!("version {version} on blue is not verified: {why}; `cargo xtask abort`, then deploy again"))?;
    if record.git_sha != held.lock.git_sha {
        bail!(
            "blue points at version {version} of {}, not the held build {}: `cargo xtask abort`, then deploy again",
            crate::ledger::short(&record.git_sha),
            crate::ledger::short(&held.lock.git_sha)
        );
    }
    // Blue must still answer as the held version: what the person looked at.
    let endpoint = Endpoint {
        url: ctx.stage_url(&held.api, BLUE),
        token: held
            .blue
            .variables
            .get(TOKEN_VARIABLE)
            .cloned()
            .map(Secret::registered),
    };
    ctx.verify(&endpoint, &super::expect(version, BLUE, &record), &[])
        .await?;
    let green = ctx.cloud.get_alias(ctx.function(), GREEN).await?;
    Ok(Checked {
        held,
        version,
        published,
        record,
        green,
        registry: (registry, repository),
    })
}

/// The hold becomes this run's own lock, then green → the held version by `plan` under it,
/// guarded by the RevisionId green had when the hold began. Returns what the rollout watched.
async fn hold_then_green<C: Cloud>(
    ctx: &Ctx<C>,
    checked: Checked<C::Registry>,
    plan: Plan,
) -> Result<Option<Watched>> {
    let Checked {
        held,
        version,
        published,
        record,
        green,
        registry: (registry, repository),
    } = checked;
    // A green moved since the hold began refuses the promotion.
    let as_held = Alias {
        revision_id: Some(held.hold.green_revision.clone()),
        ..green
    };
    let candidate = Candidate {
        version,
        record: &record,
        description: &published.description,
        pin: false,
    };
    // Blue is replaced only if it is still the hold checked above: an `abort` or a second
    // `promote` meanwhile then meets a promote's lock and refuses, instead of removing the
    // lock under this run while green moves on. The lock is released whatever ends the run
    // (a rollback included), as a deploy's is.
    let api = &held.api;
    let lock = LockOptions {
        task: Task::Promote,
        ..LockOptions::default()
    };
    let (token, stage) = ctx.lock_stage(&held.blue.deployment_id, &record.git_sha, lock, None);
    let shutdown = crate::signal::shutdown_signal()?;
    let token = ctx
        .progress
        .phase(
            Phase::Lock,
            ctx.replace_lock(api, &held.blue, &stage, token, true),
        )
        .await?;
    ctx.holding(api, token, lock, shutdown, |token| async move {
        let registry = (&registry, repository.name.as_str());
        let green = (&as_held, tokio::time::Instant::now());
        ctx.to_green(api, &token, green, candidate, plan, registry)
            .await
    })
    .await
}

/// `abort`: removes the held blue; green is not touched.
pub async fn abort<C: Cloud>(ctx: &Ctx<C>, dry_run: bool) -> Result<String> {
    let held = held(ctx).await?;
    let version = absent_as_none(ctx.cloud.get_alias(ctx.function(), BLUE).await)?
        .map_or_else(|| "?".into(), |a| a.target.version);
    if dry_run {
        return Ok(format!(
            "would remove stage blue (the hold of version {version}); green unchanged"
        ));
    }
    ctx.release_lock(&held.api).await?;
    Ok(format!(
        "removed stage blue (the hold of version {version}, {}); green unchanged",
        crate::ledger::short(&held.lock.git_sha)
    ))
}

/// `promote`'s report before it moves green: `version` planned, green's version the previous.
fn report<C: Cloud>(
    ctx: &Ctx<C>,
    api: &RestApi,
    green: &Alias,
    version: u64,
    record: &VersionRecord,
) -> deploy::Report {
    deploy::Report {
        outcome: deploy::Outcome::Planned,
        function: ctx.function().into(),
        version: Some(version),
        previous: green.target.version.parse().ok(),
        git_sha: record.git_sha.clone(),
        digest: record.digest.clone(),
        green_url: Some(ctx.stage_url(api, GREEN)),
        blue_url: None,
        phases: Vec::new(),
        plan: Vec::new(),
        held: None,
        write_calls: 0,
        rollout: None,
        same_image: record.origin.as_ref().map(|o| o.digest == record.digest),
        origin: record.origin.clone(),
    }
}
