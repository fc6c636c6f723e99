//! Each alias in `status`: the version it serves, its build record, whether blue verified it,
//! green's promotion, and whether green's image is still there.
use anyhow::Result;

use super::AliasStatus;
use crate::{
    cloud::Repository,
    image::Registry,
    ledger::{Promotion, VersionRecord},
    pipeline::{Cloud, Ctx, GREEN, absent_as_none},
};

/// One alias: the version it serves, that version's build record and whether blue verified
/// it, and (green only) its promotion record; `None` when the alias is missing.
pub(super) async fn alias_status<C: Cloud>(
    ctx: &Ctx<C>,
    registry: Option<&(C::Registry, Repository)>,
    alias: &str,
    warnings: &mut Vec<String>,
) -> Result<Option<AliasStatus>> {
    let Some(found) = absent_as_none(ctx.cloud.get_alias(ctx.function(), alias).await)? else {
        warnings.push(format!(
            "alias {alias} is missing: run `cargo xtask provision`"
        ));
        return Ok(None);
    };
    let version = found.target.version.clone();
    if version == "$LATEST" {
        warnings.push(format!(
            "alias {alias} points at $LATEST, which changes under it: deploy to pin it to a version"
        ));
    }
    let (record, verified) = served_record(ctx, registry, alias, &version, warnings).await?;
    let promotion = Promotion::parse(&found.description)
        .ok()
        .filter(|_| alias == GREEN);
    if let Some(p) = promotion.as_ref().filter(|p| p.pinned) {
        warnings.push(format!("green is pinned to version {} by a rollback ({}): deploys refuse until `cargo xtask unpin`", p.version, p.actor));
    }
    if let Some(until) = promotion.as_ref().and_then(|p| p.baking) {
        let left = until.saturating_sub(crate::ledger::epoch_seconds());
        warnings.push(format!("green is baking version {version}: {left}s of its bake left (a run that was killed or handed off leaves it to `cargo xtask resume`)"));
    }
    let rolling = promotion.as_ref().and_then(|p| p.rolling.as_ref());
    for (other, weight) in &found.target.additional_weights {
        let rollout = rolling.filter(|r| r.to.to_string() == *other).map_or_else(
            || "a rollout with no record: the next deploy settles it".to_owned(),
            |r| format!("rollout {} at step {} since {}: `cargo xtask resume` carries it on, a deploy of another build supersedes it", r.strategy, r.step + 1, crate::ledger::rfc3339(r.step_at)),
        );
        warnings.push(format!("alias {alias} is split: {:.0}% on version {other}, the rest on {version} ({rollout}; `cargo xtask rollback` aborts it)", weight * 100.0));
    }
    Ok(Some(AliasStatus {
        alias: alias.into(),
        version,
        record,
        verified,
        promotion,
        weights: found.target.additional_weights,
    }))
}

/// The build record of the version `alias` serves, and whether blue verified it: neither
/// for `$LATEST`, and no verification without the repository it is recorded in. Green on an
/// unverified version is a warning.
async fn served_record<C: Cloud>(
    ctx: &Ctx<C>,
    registry: Option<&(C::Registry, Repository)>,
    alias: &str,
    version: &str,
    warnings: &mut Vec<String>,
) -> Result<(Option<VersionRecord>, bool)> {
    let published = absent_as_none(ctx.cloud.get_version(ctx.function(), version).await)?;
    let Some(published) = published.filter(|_| version != "$LATEST") else {
        return Ok((None, false));
    };
    let verified = match registry {
        Some((registry, repository)) => {
            ctx.verification(registry, &repository.name, &published)
                .await?
        }
        None => Err("its repository is gone".to_owned()),
    };
    if let (GREEN, Err(why)) = (alias, &verified) {
        warnings.push(format!("green serves version {version}, which is not verified: {why}; `cargo xtask rollback --to N` to a verified one"));
    }
    let record = VersionRecord::parse(&published.description).ok();
    Ok((record, verified.is_ok()))
}

/// A warning when green's image is gone from the repository: its cold starts would fail.
pub(super) async fn green_image_warning<R: Registry>(
    green: Option<&AliasStatus>,
    registry: Option<&(R, Repository)>,
) -> Result<Option<String>> {
    let (Some(record), Some((registry, repository))) =
        (green.and_then(|a| a.record.as_ref()), registry)
    else {
        return Ok(None);
    };
    if registry
        .has_manifest(&repository.name, &record.digest)
        .await?
    {
        return Ok(None);
    }
    Ok(Some(format!(
        "green's image {} is gone from repository {}: cold starts will fail",
        record.digest, repository.name
    )))
}
