//! `resume`: carries on a rollout an earlier run began and did not finish (it ran out of time
//! with `--hand-off`, or was killed), holding the lock (task `resume`) as deploy does; the
//! scheduled rollout workflow runs it, so a rollout longer than any one CI job completes, and a
//! killed runner never leaves one unjudged. Nothing under way: says so and writes nothing.
use std::fmt;

use anyhow::{Context, Result};
use serde::Serialize;

use super::{Cloud, Ctx, GREEN, LockOptions, Watched, rollout::under_way};
use crate::{
    cloud::{Alias, RestApi},
    ledger::{Promotion, Task},
    secret::Secret,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// No rollout was under way (or another run finished it meanwhile).
    Nothing,
    /// `--dry-run`: what is under way, nothing written.
    Planned,
    /// The rollout finished: green on the new version alone, its bake passed.
    Finished,
    /// This run's time ran out first: the rollout goes on at the next `resume`.
    HandedOff,
}

/// The result, printed once on stdout as a table or JSON. A rollback is exit 7, not a report.
#[derive(Debug, Serialize)]
pub struct Report {
    pub outcome: Outcome,
    pub function: String,
    /// The version rolling out, and the one green served alone before it.
    pub version: Option<u64>,
    pub from: Option<u64>,
    pub green_url: String,
    pub rollout: Option<Watched>,
    /// AWS write calls this run sent (filled in by the caller, which owns the metered cloud).
    pub write_calls: usize,
}

/// The rollout under way on `green`, if any: its version, where it comes from, and whether
/// only its bake is left.
fn left_to_do(green: &Alias) -> Option<(u64, Option<u64>)> {
    if let Some(rolling) = under_way(green) {
        return Some((rolling.to, green.target.version.parse().ok()));
    }
    let record = Promotion::parse(&green.description).ok()?;
    record.baking.map(|_| (record.version, record.from))
}

pub async fn run<C: Cloud>(ctx: &Ctx<C>, break_lock: bool, dry_run: bool) -> Result<Report> {
    let api = ctx.find_api().await?.with_context(|| {
        format!(
            "there is no REST API {}: nothing to resume",
            ctx.config.api_name()
        )
    })?;
    let green = ctx.cloud.get_alias(ctx.function(), GREEN).await?;
    let mut report = Report {
        outcome: Outcome::Nothing,
        function: ctx.function().into(),
        version: None,
        from: None,
        green_url: ctx.stage_url(&api, GREEN),
        rollout: None,
        write_calls: 0,
    };
    let Some((version, from)) = left_to_do(&green) else {
        ctx.progress.note(format_args!(
            "no rollout is under way: green serves version {} alone; nothing to do",
            green.target.version
        ));
        return Ok(report);
    };
    (report.version, report.from) = (Some(version), from);
    if dry_run {
        ctx.progress.note(format_args!(
            "would carry on the rollout of version {version} (green's record: {})",
            green.description
        ));
        report.outcome = Outcome::Planned;
        return Ok(report);
    }
    let (_, record) = ctx.version_record(&version.to_string()).await?;
    let green_stage = ctx.cloud.get_stage(&api.id, GREEN).await?;
    let lock = LockOptions {
        break_lock,
        task: Task::Resume,
        ..LockOptions::default()
    };
    let watched = ctx
        .locked(
            &api,
            &green_stage.deployment_id,
            &record.git_sha,
            lock,
            None,
            |token| carry_on(ctx, &api, token),
        )
        .await?;
    report.outcome = match &watched {
        None => Outcome::Nothing,
        Some(w) if w.handed_off.is_some() => Outcome::HandedOff,
        Some(_) => Outcome::Finished,
    };
    report.rollout = watched;
    Ok(report)
}

/// Under the lock, green read again (another run may have finished the rollout meanwhile):
/// the shift carried on, or the bake. `None` when nothing is left.
async fn carry_on<C: Cloud>(ctx: &Ctx<C>, api: &RestApi, token: Secret) -> Result<Option<Watched>> {
    let green = ctx.cloud.get_alias(ctx.function(), GREEN).await?;
    let Some(rolling) = under_way(&green) else {
        return ctx.resume_bake(api, &green, Some((api, &token))).await;
    };
    let (registry, repository) = ctx.registry().await?;
    let registry = (&registry, repository.name.as_str());
    let watched = ctx
        .resume((api, &token), &green, &rolling, registry)
        .await?;
    Ok(Some(watched))
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let outcome = match self.outcome {
            Outcome::Nothing => "nothing to resume (no rollout under way)",
            Outcome::Planned => "planned (--dry-run: nothing written)",
            Outcome::Finished => "finished the rollout",
            Outcome::HandedOff => "rolling out: handed off again to the next `cargo xtask resume`",
        };
        writeln!(f, "{:<10} {outcome}", "outcome")?;
        writeln!(f, "{:<10} {}", "function", self.function)?;
        if let Some(version) = self.version {
            let from = self
                .from
                .map(|v| format!(" (from {v})"))
                .unwrap_or_default();
            writeln!(f, "{:<10} {version}{from}", "version")?;
        }
        writeln!(f, "{:<10} {}", "green", self.green_url)?;
        if let Some(rollout) = &self.rollout {
            writeln!(f, "{:<10} {rollout}", "rollout")?;
        }
        writeln!(f, "{:<10} {}", "writes", self.write_calls)
    }
}
