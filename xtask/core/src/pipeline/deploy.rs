//! `deploy`: preflight → build → no-op check → lock → push → update → blue → verify → promote
//! → cleanup. Green (alias and stage) changes only in promote, after blue verified the very
//! version green will serve; the blue stage (the lock) is removed whatever happens.
use std::{fmt, path::PathBuf};

use anyhow::{Result, bail};
use serde::Serialize;

use super::{
    BLUE, Candidate, Cloud, Ctx, GREEN, LockOptions, Phase, Plan, Watched,
    preflight::{Preflight, is_deployed, preflight},
    update::Published,
};
use crate::{
    image::{Built, Image},
    progress::PhaseTime,
    secret::Secret,
};

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

/// The result, printed once on stdout as a table or JSON.
#[derive(Debug, Serialize)]
pub struct Report {
    pub outcome: Outcome,
    pub function: String,
    pub version: Option<u64>,
    pub previous: Option<u64>,
    pub git_sha: String,
    pub digest: String,
    pub green_url: Option<String>,
    /// Only with `--keep-blue`: reach it with the token (`status --show-token`).
    pub blue_url: Option<String>,
    pub phases: Vec<PhaseTime>,
    /// With `--dry-run`: what a real run would write; with `--hold`: what to do next.
    pub plan: Vec<String>,
    /// With `--hold`: the version verified on blue, waiting for `promote`.
    pub held: Option<u64>,
    /// AWS write calls this run sent (filled in by the caller, which owns the metered cloud).
    pub write_calls: usize,
    /// What a canary, linear or baked rollout watched.
    pub rollout: Option<Watched>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Deployed,
    AlreadyDeployed,
    Planned,
    /// `--hold`: verified on blue, waiting for `promote`.
    Held,
}

pub async fn run<C: Cloud>(ctx: &Ctx<C>, options: &Options) -> Result<Report> {
    let p = &ctx.progress;
    let pre = p.phase(Phase::Preflight, preflight(ctx, options)).await?;
    // Before minutes of building: a held deploy rolls out at `promote`, which checks it there.
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
        report.outcome = Outcome::Deployed;
        report.previous = report.version;
        report.version = Some(version);
        report.rollout = watched;
    }
    report.phases = p.times();
    Ok(report)
}

/// The report of a run that has changed nothing yet: green as preflight read it, the build.
fn report<C: Cloud>(ctx: &Ctx<C>, pre: &Preflight, built: &Built) -> Report {
    Report {
        outcome: Outcome::AlreadyDeployed,
        function: ctx.function().into(),
        version: pre.green.target.version.parse().ok(),
        previous: None,
        git_sha: built.facts.git_sha.clone(),
        digest: built.digest.clone(),
        green_url: Some(ctx.stage_url(&pre.api, GREEN)),
        blue_url: None,
        phases: Vec::new(),
        plan: Vec::new(),
        held: None,
        write_calls: 0,
        rollout: None,
    }
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
    // it was in, if any, to finish (not in a dry run, which writes nothing).
    if options.dry_run {
        return Ok(None);
    }
    ctx.release_left_lock(&pre.api, options.break_lock).await?;
    ctx.resume_bake(&pre.api, &pre.green).await
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
    // Holding the lock now: a split a killed rollout left is this run's to settle.
    let green = ctx.settle_split(pre.green.clone()).await?;
    let (registry, repository) = ctx.registry().await?;
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
        .blue_then_green(&pre.api, token, &green, candidate, plan, registry)
        .await?;
    Ok((version, watched))
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

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let outcome = match self.outcome {
            Outcome::Deployed => "deployed",
            Outcome::AlreadyDeployed => "already deployed (nothing written)",
            Outcome::Planned => "planned (--dry-run: nothing written)",
            Outcome::Held => "held: verified on blue, green unchanged",
        };
        writeln!(f, "{:<10} {outcome}", "outcome")?;
        writeln!(f, "{:<10} {}", "function", self.function)?;
        if let Some(version) = self.version {
            let from = self
                .previous
                .map(|p| format!(" (was {p})"))
                .unwrap_or_default();
            writeln!(f, "{:<10} {version}{from}", "version")?;
        }
        writeln!(f, "{:<10} {}", "git sha", self.git_sha)?;
        writeln!(f, "{:<10} {}", "digest", self.digest)?;
        if let Some(url) = &self.green_url {
            writeln!(f, "{:<10} {url}", "green")?;
        }
        if let Some(url) = &self.blue_url {
            writeln!(f, "{:<10} {url} (kept; needs x-verify-token)", "blue")?;
        }
        if let Some(rollout) = &self.rollout {
            writeln!(f, "{:<10} {rollout}", "rollout")?;
        }
        let label = if self.outcome == Outcome::Held {
            "next"
        } else {
            "would"
        };
        for step in &self.plan {
            writeln!(f, "{label:<10} {step}")?;
        }
        writeln!(f, "{:<10} {}", "writes", self.write_calls)?;
        for phase in &self.phases {
            writeln!(
                f,
                "{:<10} {:<12} {:>7.2}s{}",
                "phase",
                phase.phase,
                phase.seconds,
                if phase.ok { "" } else { "  FAILED" }
            )?;
        }
        Ok(())
    }
}

impl Report {
    /// The Markdown for `$GITHUB_STEP_SUMMARY`.
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "### bgd deploy: {:?}\n\n| | |\n|---|---|\n| function | `{}` |\n| version | {} |\n| git sha | `{}` |\n| digest | `{}` |\n",
            self.outcome,
            self.function,
            self.version.map_or("-".into(), |v| v.to_string()),
            self.git_sha,
            self.digest
        );
        if let Some(url) = &self.green_url {
            out.push_str(&format!("| green | {url} |\n"));
        }
        out.push_str("\n| phase | seconds |\n|---|---|\n");
        for phase in &self.phases {
            out.push_str(&format!("| {} | {:.2} |\n", phase.phase, phase.seconds));
        }
        out
    }
}
