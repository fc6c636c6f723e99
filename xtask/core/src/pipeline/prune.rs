//! `prune`: deletes old published versions and their images, never one that an alias points at
//! (weights included), the one a rollback pinned or would go back to, or one of the last N
//! verified; an image goes only when no kept version runs it, `$LATEST` does not run it, and
//! no revert marked it failed (its `failed-image` tag is what refuses it again, and goes with
//! the image). It holds the
//! lock while it plans and deletes, so no deploy or rollback moves green onto what it deletes.
use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
};

use anyhow::Result;
use serde::Serialize;

use super::{BLUE, Cloud, Ctx, GREEN, LockOptions, absent_as_none, lock_holder};
use crate::{
    cloud::{Pruning, Version},
    image::Registry,
    ledger::{self, Promotion, Task, VersionRecord},
    outcome::{Exit, refuse},
};

pub struct Options {
    /// How many of the newest verified versions to keep, besides those kept for other reasons.
    pub keep: usize,
    pub dry_run: bool,
}

#[derive(Debug, Serialize)]
pub struct Report {
    /// Kept versions and why.
    pub kept: BTreeMap<u64, String>,
    pub deleted_versions: Vec<u64>,
    /// Images no kept version runs that stay all the same, and why.
    pub kept_images: BTreeMap<String, String>,
    pub deleted_images: Vec<String>,
    pub versions_before: usize,
    pub versions_after: usize,
    /// Distinct images the published versions run, before and after.
    pub images_before: usize,
    pub images_after: usize,
    pub dry_run: bool,
}

/// Plans, and unless `--dry-run` deletes, holding the lock (stage blue) throughout: a deploy
/// or rollback racing it was promoted onto a version whose image prune then deleted
/// (adversarial-3 #8). Without an API (nothing provisioned) there is no lock and no deploy.
pub async fn run<C: Cloud + Pruning>(ctx: &Ctx<C>, options: &Options) -> Result<Report> {
    let api = match ctx.find_api().await? {
        Some(api) if options.dry_run => api,
        Some(api) => {
            let green = ctx.cloud.get_stage(&api.id, GREEN).await?;
            let lock = LockOptions {
                task: Task::Prune,
                ..LockOptions::default()
            };
            return ctx
                .locked(&api, &green.deployment_id, "", lock, None, |_| {
                    prune(ctx, options)
                })
                .await;
        }
        None => return prune(ctx, options).await,
    };
    // A plan while someone holds the lock would be stale at once: the deploy's new version
    // is on no alias yet.
    if let Some(blue) = absent_as_none(ctx.cloud.get_stage(&api.id, BLUE).await)? {
        let (holder, _) = lock_holder(&blue);
        return Err(refuse(
            Exit::LockHeld,
            format!("stage blue holds the lock ({holder}): prune plans once it is released"),
        ));
    }
    prune(ctx, options).await
}

/// Plans what goes (what the aliases keep, the newest verified, then the images only
/// doomed versions run) and, unless `--dry-run`, deletes it.
async fn prune<C: Cloud + Pruning>(ctx: &Ctx<C>, options: &Options) -> Result<Report> {
    let versions = ctx.cloud.list_versions(ctx.function()).await?;
    let (registry, repository) = ctx.registry().await?;
    let mut kept = kept_by_aliases(ctx).await?;
    keep_newest_verified(
        ctx,
        &registry,
        &repository.name,
        &versions,
        options.keep,
        &mut kept,
    )
    .await?;
    let digests = digests(&versions);
    let doomed: Vec<u64> = versions
        .iter()
        .filter_map(|v| v.version.parse().ok())
        .filter(|n| !kept.contains_key(n))
        .collect();
    let mut images = unused_images(&doomed, &kept, &digests);
    let mut kept_images = failed_images(&registry, &repository.name, &images).await?;
    if let Some(latest) = latest_image(ctx).await?
        && images.contains(&latest)
    {
        kept_images.insert(latest, LATEST_RUNS_IT.into());
    }
    images.retain(|digest| !kept_images.contains_key(digest));
    let images_before = digests.values().collect::<BTreeSet<_>>().len();
    let report = Report {
        versions_before: versions.len(),
        versions_after: versions.len() - doomed.len(),
        images_before,
        images_after: images_before - images.len(),
        kept,
        deleted_versions: doomed,
        kept_images,
        deleted_images: images,
        dry_run: options.dry_run,
    };
    if !options.dry_run {
        delete_planned(ctx, &repository.name, &report).await?;
    }
    Ok(report)
}

/// Keeps `version` for `why`, unless it is no number (`$LATEST`) or kept already (the first
/// reason stands).
fn keep(kept: &mut BTreeMap<u64, String>, version: &str, why: &str) {
    if let Ok(number) = version.parse() {
        kept.entry(number).or_insert_with(|| why.to_owned());
    }
}

/// What the aliases keep: every version they route to and, on green, the one a rollback
/// pinned and the one a plain rollback would go back to.
async fn kept_by_aliases<C: Cloud>(ctx: &Ctx<C>) -> Result<BTreeMap<u64, String>> {
    let mut kept = BTreeMap::new();
    for alias in [GREEN, BLUE] {
        let Some(found) = absent_as_none(ctx.cloud.get_alias(ctx.function(), alias).await)? else {
            continue;
        };
        keep(&mut kept, &found.target.version, &format!("alias {alias}"));
        for other in found.target.additional_weights.keys() {
            keep(&mut kept, other, &format!("alias {alias}'s weights"));
        }
        let promotion = Promotion::parse(&found.description).ok();
        if let Some(promotion) = promotion.filter(|_| alias == GREEN) {
            if promotion.pinned {
                keep(
                    &mut kept,
                    &promotion.version.to_string(),
                    "pinned by a rollback",
                );
            }
            if let Some(from) = promotion.from {
                let why = "what a plain rollback goes back to";
                keep(&mut kept, &from.to_string(), why);
            }
        }
    }
    Ok(kept)
}

/// Keeps the `count` newest versions blue verified, newest first.
async fn keep_newest_verified<C: Cloud>(
    ctx: &Ctx<C>,
    registry: &C::Registry,
    repository: &str,
    versions: &[Version],
    count: usize,
    kept: &mut BTreeMap<u64, String>,
) -> Result<()> {
    let mut verified = 0;
    for listed in versions.iter().rev() {
        if verified == count {
            break;
        }
        if listed.version.parse::<u64>().is_err() {
            continue;
        }
        // A list answer names no image, on AWS too: the verification rule needs the version
        // itself. Judged on the list, no version was verified and `--keep` kept none.
        let version = ctx
            .cloud
            .get_version(ctx.function(), &listed.version)
            .await?;
        if ctx
            .verification(registry, repository, &version)
            .await?
            .is_ok()
        {
            verified += 1;
            keep(kept, &listed.version, "one of the newest verified");
        }
    }
    Ok(())
}

/// The image each version runs, as its record says (a version bgd did not publish has none).
fn digests(versions: &[Version]) -> BTreeMap<u64, String> {
    versions
        .iter()
        .filter_map(|listed| {
            let number = listed.version.parse().ok()?;
            let record = VersionRecord::parse(&listed.description).ok()?;
            Some((number, record.digest))
        })
        .collect()
}

/// The images that only doomed versions run, sorted.
fn unused_images(
    doomed: &[u64],
    kept: &BTreeMap<u64, String>,
    digests: &BTreeMap<u64, String>,
) -> Vec<String> {
    let kept_digests: Vec<&String> = kept.keys().filter_map(|n| digests.get(n)).collect();
    // A kept version whose record cannot be read might run any image: none goes (fail
    // closed; security-audit-3 N8).
    let unknown = kept.keys().any(|n| !digests.contains_key(n));
    let mut images: Vec<String> = doomed
        .iter()
        .filter_map(|n| digests.get(n))
        .filter(|d| !unknown && !kept_digests.contains(d))
        .cloned()
        .collect();
    images.sort();
    images.dedup();
    images
}

/// Why the image `$LATEST` runs stays, though no kept version runs it (a deploy that failed
/// verification updated `$LATEST` to it).
const LATEST_RUNS_IT: &str = "$LATEST runs it: Lambda fails a function whose image is gone (State Failed), and the next deploy's update with it";

/// The image `$LATEST` runs: never one of a version's, after a deploy that failed on blue.
async fn latest_image<C: Cloud>(ctx: &Ctx<C>) -> Result<Option<String>> {
    let latest = ctx.cloud.get_version(ctx.function(), "$LATEST").await?;
    Ok(latest.image.map(|image| image.digest))
}

/// Of `images`, those a revert marked failed, and why they stay: their `failed-image` tag is
/// what refuses them to deploy again, and it would go with them.
async fn failed_images<R: Registry>(
    registry: &R,
    repository: &str,
    images: &[String],
) -> Result<BTreeMap<String, String>> {
    let mut failed = BTreeMap::new();
    for digest in images {
        let tag = ledger::failed_image_tag(digest);
        if registry.digest_of(repository, &tag).await?.is_some() {
            failed.insert(
                digest.clone(),
                format!("failed a rollout: its tag {tag} refuses it to deploy"),
            );
        }
    }
    Ok(failed)
}

/// Deletes the report's versions, then its images, each announced first.
async fn delete_planned<C: Cloud + Pruning>(
    ctx: &Ctx<C>,
    repository: &str,
    report: &Report,
) -> Result<()> {
    let function = ctx.function();
    for version in &report.deleted_versions {
        ctx.progress
            .note(format_args!("deleting version {version} of {function}"));
        ctx.cloud
            .delete_version(function, &version.to_string())
            .await?;
    }
    for digest in &report.deleted_images {
        ctx.progress
            .note(format_args!("deleting image {digest} of {repository}"));
        ctx.cloud.delete_image(repository, digest).await?;
    }
    Ok(())
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.dry_run {
            "would delete"
        } else {
            "deleted"
        };
        for (version, why) in &self.kept {
            writeln!(f, "kept       version {version}: {why}")?;
        }
        for version in &self.deleted_versions {
            writeln!(f, "{verb:<10} version {version}")?;
        }
        for (digest, why) in &self.kept_images {
            writeln!(f, "kept       image {digest}: {why}")?;
        }
        for digest in &self.deleted_images {
            writeln!(f, "{verb:<10} image {digest}")?;
        }
        writeln!(
            f,
            "versions   {} → {}; images {} → {}{}",
            self.versions_before,
            self.versions_after,
            self.images_before,
            self.images_after,
            if self.dry_run {
                " (--dry-run: nothing deleted)"
            } else {
                ""
            }
        )
    }
}
