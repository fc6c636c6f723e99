//! `rollback [--to N]`: moves green back to a published version whose
//! image still exists: a version verified before goes straight to green (one guarded
//! UpdateAlias), one never verified is verified on blue first. It pins green, so a queued
//! deploy of the bad commit cannot undo it until `unpin` (or `deploy --unpin`).
use anyhow::{Context, Result, bail};

use super::{BLUE, Candidate, Cloud, Ctx, GREEN, LockOptions, Phase, absent_as_none, lock_holder};
use crate::{
    cloud::{Alias, CloudError, Repository, RestApi, Stage, Version, VersionState},
    image::Registry,
    ledger::{Lock, Promotion, VersionRecord},
    outcome::{Exit, refuse},
};

mod report;
pub use report::Report;

/// What rollback and unpin read first: the API, green, and that no deploy holds the lock.
pub(super) struct State {
    pub(super) api: RestApi,
    pub(super) green: Alias,
    pub(super) green_stage: Stage,
    pub(super) promotion: Option<Promotion>,
}

/// Also whether this run aborts a rollout (`aborts` says, given green): that needs no lock,
/// as the rollout's own writes are guarded and it stops at its next.
pub(super) async fn state<C: Cloud>(
    ctx: &Ctx<C>,
    break_lock: bool,
    aborts: impl FnOnce(&Alias) -> bool,
) -> Result<(State, bool)> {
    let api = ctx.find_api().await?.with_context(|| {
        format!(
            "there is no REST API {}: nothing to roll back",
            ctx.config.api_name()
        )
    })?;
    let green = ctx.cloud.get_alias(ctx.function(), GREEN).await?;
    let aborting = aborts(&green);
    if let Some(blue) = absent_as_none(ctx.cloud.get_stage(&api.id, BLUE).await)? {
        let (holder, expired) = lock_holder(&blue);
        if !break_lock && !expired && !aborting {
            return Err(refuse(Exit::LockHeld, lock_refusal(&blue, &holder)));
        }
    }
    let green_stage = ctx.cloud.get_stage(&api.id, GREEN).await?;
    let promotion = Promotion::parse(&green.description).ok();
    let state = State {
        api,
        green,
        green_stage,
        promotion,
    };
    Ok((state, aborting))
}

/// Whether a rollback to `to` (plain: `None`) aborts a rollout, so needs no lock (the
/// rollout's own writes are guarded and it stops at its next): green split by the shift and
/// put back on its main version, or green baking a new version (the bake is when it serves
/// everyone) and moved off it.
fn aborts(green: &Alias, to: Option<u64>) -> bool {
    if !green.target.additional_weights.is_empty() {
        return to.is_none_or(|to| to.to_string() == green.target.version);
    }
    let baking = Promotion::parse(&green.description).is_ok_and(|p| p.baking.is_some());
    baking && to.is_none_or(|to| to.to_string() != green.target.version)
}

/// Why a held lock stops rollback and unpin, and what ends it: a kept blue (`--keep-blue`)
/// is no running deploy.
fn lock_refusal(blue: &Stage, holder: &str) -> String {
    let lock = Lock::parse(&blue.description).ok();
    if lock.as_ref().is_some_and(|lock| lock.hold.is_some()) {
        format!(
            "stage blue is {holder}: `cargo xtask abort` ends the hold (green unchanged), or pass --break-lock to remove it and go on"
        )
    } else if lock.is_some_and(|lock| lock.kept) {
        format!(
            "stage blue is a blue kept by `deploy --keep-blue` ({holder}); once that deploy has finished it holds the lock until removed: pass --break-lock to remove it and roll back"
        )
    } else {
        format!(
            "a run holds the lock (stage blue): {holder}; wait for it to finish, then roll back (or pass --break-lock if it died)"
        )
    }
}

/// How `rollback` was asked to run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub to: Option<u64>,
    pub break_lock: bool,
    /// Go back to a version although a rollout of it failed.
    pub force: bool,
    pub dry_run: bool,
}

/// `rollback`: preflight → the version to go back to → check target → move green (one
/// guarded write, or verified on blue first under the lock).
pub async fn run<C: Cloud>(ctx: &Ctx<C>, options: Options) -> Result<Report> {
    let (state, aborting) = ctx
        .progress
        .phase(
            Phase::Preflight,
            state(ctx, options.break_lock, |green| aborts(green, options.to)),
        )
        .await?;
    let from = green_version(&state.green)?;
    let to = target_version(ctx, &state, from, options.to, aborting)?;
    let target = ctx
        .progress
        .phase(Phase::CheckTarget, check_target(ctx, to, options.force))
        .await?;
    let mut report = Report {
        from,
        to,
        git_sha: target.record.git_sha.clone(),
        verified_before: target.verified,
        pinned: true,
        already_there: false,
        aborted_rollout: aborting,
        green_url: ctx.stage_url(&state.api, GREEN),
        dry_run: options.dry_run,
        phases: Vec::new(),
        write_calls: 0,
    };
    if options.dry_run {
        report.phases = ctx.progress.times();
        return Ok(report);
    }
    if to == from && !aborting {
        // A rollback to `to` finished its promotion already (this is a re-run, say after the
        // first run was killed): only a lock it left behind is still to go.
        ctx.release_left_lock(&state.api, options.break_lock)
            .await?;
        report.already_there = true;
    } else {
        move_green(ctx, &state, &target, options.break_lock).await?;
    }
    report.phases = ctx.progress.times();
    Ok(report)
}

/// The version green serves (its main one, when split).
fn green_version(green: &Alias) -> Result<u64> {
    green.target.version.parse().with_context(|| {
        format!(
            "green points at {:?}, not a published version",
            green.target.version
        )
    })
}

/// Where an aborted rollout puts green: a split back on its main version alone, a bake back
/// where the rollout came from (or `--to`). Otherwise `--to` as asked.
fn rollout_target<C: Cloud>(
    ctx: &Ctx<C>,
    state: &State,
    from: u64,
    to: Option<u64>,
    aborting: bool,
) -> Option<u64> {
    let baking = state.promotion.as_ref().is_some_and(|p| p.baking.is_some());
    match (aborting, baking) {
        (true, false) => {
            ctx.progress.note(format_args!(
                "green is split by a rollout: putting it back on version {from} alone aborts it"
            ));
            Some(from)
        }
        (true, true) => {
            let back = to.or(state.promotion.as_ref().and_then(|p| p.from));
            ctx.progress.note(format_args!(
                "green bakes version {from}: moving it to version {} aborts the rollout",
                back.map_or("?".into(), |v| v.to_string())
            ));
            back
        }
        (false, _) => to,
    }
}

/// The version this rollback goes to: the rollout's abort, `--to`, or the one before the last
/// promotion; refused when there is none, or green already serves it unpinned.
fn target_version<C: Cloud>(
    ctx: &Ctx<C>,
    state: &State,
    from: u64,
    to: Option<u64>,
    aborting: bool,
) -> Result<u64> {
    let to = rollout_target(ctx, state, from, to, aborting);
    // A plain rollback goes back to the version before the last promotion; after a rollback
    // that is the bad version it left, so it must be named.
    if to.is_none()
        && let Some(promotion) = state.promotion.as_ref().filter(|p| p.pinned)
    {
        bail!(
            "green was rolled back to version {} already (pinned): a plain rollback would return to version {}; pass --to N (`cargo xtask history` lists the verified ones)",
            promotion.version,
            promotion.from.map_or("?".into(), |v| v.to_string())
        );
    }
    let to = match to.or(state.promotion.as_ref().and_then(|p| p.from)) {
        Some(0) => bail!("--to 0: versions are numbered from 1 (`cargo xtask history` lists them)"),
        Some(to) => to,
        None => bail!(
            "no earlier promotion is recorded on green: pass --to N (`cargo xtask history` lists the versions)"
        ),
    };
    let pinned_there = state.promotion.as_ref().is_some_and(|p| p.pinned);
    if to == from && !pinned_there && !aborting {
        bail!("green already serves version {to}: nothing to roll back");
    }
    Ok(to)
}

/// The version a rollback goes to, as the check-target phase found it, and the registry
/// that holds its image.
struct Target<R> {
    version: u64,
    published: Version,
    record: VersionRecord,
    /// Blue verified this very version before (the rule of `ledger::verification`).
    verified: bool,
    registry: R,
    repository: Repository,
}

/// The check-target phase: `to` is published by bgd, its image is still in the repository,
/// no rollout of it failed (unless `force`), and whether it was verified.
async fn check_target<C: Cloud>(ctx: &Ctx<C>, to: u64, force: bool) -> Result<Target<C::Registry>> {
    let (published, record) = match ctx.version_record(&to.to_string()).await {
        Err(e)
            if e.downcast_ref::<CloudError>()
                .is_some_and(CloudError::is_not_found) =>
        {
            bail!(
                "version {to} of {} is not published: `cargo xtask history` lists the versions",
                ctx.function()
            )
        }
        other => other?,
    };
    let (registry, repository) = ctx.registry().await?;
    if !registry
        .has_manifest(&repository.name, &record.digest)
        .await?
    {
        bail!(
            "the image of version {to} ({}) is gone from repository {}: it cannot run again; pick another version",
            record.digest,
            repository.name
        );
    }
    let candidate = Candidate {
        version: to,
        record: &record,
        description: &published.description,
        pin: true,
    };
    ctx.refuse_failed((&registry, &repository.name), candidate, force)
        .await?;
    let verified = match ctx
        .verification(&registry, &repository.name, &published)
        .await?
    {
        Ok(_) => true,
        Err(why) => {
            ctx.progress.note(format_args!(
                "version {to} is not verified ({why}): verifying it on blue first"
            ));
            false
        }
    };
    Ok(Target {
        version: to,
        published,
        record,
        verified,
        registry,
        repository,
    })
}

/// Moves green to the target: a verified, Active version in one guarded write (then green is
/// probed), any other verified on blue first, under the lock.
async fn move_green<C: Cloud>(
    ctx: &Ctx<C>,
    state: &State,
    target: &Target<C::Registry>,
    break_lock: bool,
) -> Result<()> {
    let to = target.version;
    // Lambda fails the first invocations of a version left idle (Inactive) while it warms it
    // up again (<https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html>): such
    // a version is warmed and verified on blue, so green's users never meet those failures.
    let ready = target.published.state == VersionState::Active;
    if target.verified && !ready {
        ctx.progress.note(format_args!(
            "version {to} is {:?}: warming and verifying it on blue before green moves",
            target.published.state
        ));
    }
    let candidate = Candidate {
        version: to,
        record: &target.record,
        description: &target.published.description,
        pin: true,
    };
    if target.verified && ready {
        ctx.release_left_lock(&state.api, break_lock).await?;
        let phase = super::Promote::Phase {
            api: &state.api,
            candidate,
            baking: None,
        };
        ctx.promote(&state.green, phase).await?;
        return Ok(());
    }
    let lock = LockOptions {
        break_lock,
        ..Default::default()
    };
    ctx.locked(
        &state.api,
        &state.green_stage.deployment_id,
        &target.record.git_sha,
        lock,
        None,
        move |token| async move {
            let registry = (&target.registry, target.repository.name.as_str());
            ctx.blue_then_green(
                &state.api,
                &token,
                (&state.green, tokio::time::Instant::now()),
                candidate,
                super::Plan::at_once(),
                registry,
            )
            .await?;
            Ok(())
        },
    )
    .await
}
