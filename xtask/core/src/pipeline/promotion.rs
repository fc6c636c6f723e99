//! Promotion by digest (`deploy --env production --from staging`): the image green serves in
//! the source environment, taken byte for byte, and only when blue verified that very version
//! there. It is copied into the target's own repository over the distribution API (pulled with
//! the source's credentials, pushed with the target's), so the target account trusts nothing of
//! the source's and keeps its own copy (docs/environments.md says why); the deploy that ships it
//! then verifies it on the target's own blue, as any deploy does.
use std::path::Path;

use anyhow::{Context, Result, bail};

use super::{Cloud, Ctx, GREEN};
use crate::{
    facts::{BuildFacts, Origin},
    image::{Built, Pull},
    ledger,
};

/// Writes the image green serves in `source` into `dir` as `deploy --image DIR` reads it, with
/// the build facts and origin its record there gives. Refuses a split green (a rollout under
/// way there: which image is "staging's" is not settled) and a version blue did not verify.
pub async fn take<C: Cloud>(source: &Ctx<C>, dir: &Path) -> Result<Built>
where
    C::Registry: Pull,
{
    let environment = source
        .config
        .placement
        .as_ref()
        .map(|p| p.environment.clone())
        .context("--from names an environment of deploy.toml")?;
    let function = source.function();
    let green = source
        .cloud
        .get_alias(function, GREEN)
        .await
        .with_context(|| format!("reading green in {environment}"))?;
    if !green.target.additional_weights.is_empty() {
        bail!(
            "green in {environment} is split (a rollout is under way there): promote once it has finished (`cargo xtask status --env {environment}`)"
        );
    }
    let number = &green.target.version;
    let version = source.cloud.get_version(function, number).await?;
    let (registry, repository) = source.registry().await?;
    let record = source
        .verification(&registry, &repository.name, &version)
        .await?
        .map_err(|why| {
            anyhow::anyhow!(
                "green in {environment} serves version {number}, which is not verified there ({why}): only a version blue verified is promoted"
            )
        })?;
    let image = registry.pull(&repository.name, &record.digest).await?;
    if image.digest() != record.digest {
        bail!(
            "the image read from {environment} is {}, not {} as its record says",
            image.digest(),
            record.digest
        );
    }
    // The image's `created` is its commit's time (`Image::assemble`): the facts the app baked in.
    let config: serde_json::Value = serde_json::from_slice(&image.config)?;
    let built_at = config["created"]
        .as_str()
        .context("the image's config has no created time")?
        .to_owned();
    let facts = BuildFacts {
        git_sha: record.git_sha.clone(),
        dirty: record.dirty,
        commit_epoch: ledger::epoch_of(&built_at).with_context(|| {
            format!("the image's created time {built_at:?} is no RFC 3339 time")
        })?,
        built_at,
        build_id: record.build_id.clone(),
    };
    let origin = Origin {
        environment,
        version: number
            .parse()
            .context("green serves no published version")?,
        digest: record.digest,
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    image.write_layout(dir)?;
    Built::promoted(dir, &image, facts, origin)
}
