//! `prune`: deletes old published versions and their images, never one that an alias points at
//! (weights included), the one a rollback pinned or would go back to, or one of the last N
//! verified; an image goes only when no kept version runs it and no revert marked it failed
//! (its `failed-image` tag is what refuses it again, and goes with the image). It holds the
//! lock while it plans and deletes, so no deploy or rollback moves green onto what it deletes.
use std::{collections::BTreeMap, fmt};

use anyhow::Result;
use serde::Serialize;

use super::{BLUE, Cloud, Ctx, GREEN, LockOptions, absent_as_none, lock_holder};
use crate::{
    cloud::Pruning,
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

async fn prune<C: Cloud + Pruning>(ctx: &Ctx<C>, options: &Options) -> Result<Report> {
    let function = ctx.function();
    let versions = ctx.cloud.list_versions(function).await?;
    let (registry, repository) = ctx.registry().await?;
    let mut kept: BTreeMap<u64, String> = BTreeMap::new();
    let mut keep = |version: &str, why: &str| {
        if let Ok(number) = version.parse() {
            kept.entry(number).or_insert_with(|| why.to_owned());
        }
    };
    for alias in [GREEN, BLUE] {
        let Some(found) = absent_as_none(ctx.cloud.get_alias(function, alias).await)? else {
            continue;
        };
        keep(&found.target.version, &format!("alias {alias}"));
        for other in found.target.additional_weights.keys() {
            keep(other, &format!("alias {alias}'s weights"));
        }
        let promotion = Promotion::parse(&found.description).ok();
        if let Some(promotion) = promotion.filter(|_| alias == GREEN) {
            if promotion.pinned {
                keep(&promotion.version.to_string(), "pinned by a rollback");
            }
            if let Some(from) = promotion.from {
                keep(&from.to_string(), "what a plain rollback goes back to");
            }
        }
    }
    let mut verified = 0;
    let mut digests: BTreeMap<u64, String> = BTreeMap::new();
    for listed in versions.iter().rev() {
        let Ok(number) = listed.version.parse::<u64>() else {
            continue;
        };
        if let Ok(record) = VersionRecord::parse(&listed.description) {
            digests.insert(number, record.digest);
        }
        if verified == options.keep {
            continue;
        }
        // A list answer names no image, on AWS too: the verification rule needs the version
        // itself. Judged on the list, no version was verified and `--keep` kept none.
        let version = ctx.cloud.get_version(function, &listed.version).await?;
        if ctx
            .verification(&registry, &repository.name, &version)
            .await?
            .is_ok()
        {
            verified += 1;
            keep(&listed.version, "one of the newest verified");
        }
    }
    let doomed: Vec<u64> = versions
        .iter()
        .filter_map(|v| v.version.parse().ok())
        .filter(|n| !kept.contains_key(n))
        .collect();
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
    let mut kept_images = BTreeMap::new();
    for digest in &images {
        let tag = ledger::failed_image_tag(digest);
        if registry.digest_of(&repository.name, &tag).await?.is_some() {
            kept_images.insert(
                digest.clone(),
                format!("failed a rollout: its tag {tag} refuses it to deploy"),
            );
        }
    }
    images.retain(|digest| !kept_images.contains_key(digest));
    let distinct = |numbers: &mut dyn Iterator<Item = &u64>| {
        let mut all: Vec<&String> = numbers.filter_map(|n| digests.get(n)).collect();
        all.sort();
        all.dedup();
        all.len()
    };
    let report = Report {
        versions_before: versions.len(),
        versions_after: versions.len() - doomed.len(),
        images_before: distinct(&mut digests.keys()),
        images_after: distinct(&mut digests.keys()) - images.len(),
        kept,
        deleted_versions: doomed,
        kept_images,
        deleted_images: images,
        dry_run: options.dry_run,
    };
    if options.dry_run {
        return Ok(report);
    }
    for version in &report.deleted_versions {
        ctx.progress
            .note(format_args!("deleting version {version} of {function}"));
        ctx.cloud
            .delete_version(function, &version.to_string())
            .await?;
    }
    for digest in &report.deleted_images {
        ctx.progress.note(format_args!(
            "deleting image {digest} of {}",
            repository.name
        ));
        ctx.cloud.delete_image(&repository.name, digest).await?;
    }
    Ok(report)
}

/// The repository's lifecycle policy: images tagged `verified-*` are matched first and so
/// never expired by the rule after it (an image matched by a rule is not expired by a rule of
/// lower priority); any other image goes 30 days after its push. Only past 1000 verified
/// images would the oldest verified expire.
/// (<https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html>)
pub fn lifecycle_policy() -> serde_json::Value {
    serde_json::json!({"rules": [
        {
            "rulePriority": 1,
            "description": "keep images blue verified (verified-N-FINGERPRINT tags)",
            "selection": {
                "tagStatus": "tagged",
                "tagPatternList": ["verified-*"],
                "countType": "imageCountMoreThan",
                "countNumber": 1000
            },
            "action": {"type": "expire"}
        },
        {
            "rulePriority": 2,
            "description": "images never verified, 30 days after their push",
            "selection": {
                "tagStatus": "any",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 30
            },
            "action": {"type": "expire"}
        }
    ]})
}

/// Provision's image rule: sets [`lifecycle_policy`] on the repository unless it is already
/// there (a second provision writes nothing). Returns whether it wrote.
pub async fn keep_verified_images<C: Cloud + Pruning>(ctx: &Ctx<C>) -> Result<bool> {
    let repository = ctx.config.repository_name();
    let wanted = lifecycle_policy();
    let current = ctx.cloud.lifecycle_policy(repository).await?;
    let same = current
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .is_some_and(|current| current == wanted);
    if !same {
        ctx.cloud
            .put_lifecycle_policy(repository, &wanted.to_string())
            .await?;
    }
    Ok(!same)
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
