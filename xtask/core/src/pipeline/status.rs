//! `status` and `verify`: reads only. Status shows each alias → version → build, each stage →
//! variables and URL, what each endpoint reports live, and drift warnings.
mod aliases;
mod stages;
mod text;

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde::Serialize;

use super::{BLUE, Cloud, Ctx, GREEN, TOKEN_VARIABLE, expect};
use crate::{
    health::Counts,
    ledger::{Lock, Promotion, VersionRecord},
    probe::{Endpoint, SelfReport},
    secret::Secret,
};

#[derive(Debug, Serialize)]
pub struct Status {
    pub function: String,
    pub aliases: Vec<AliasStatus>,
    pub stages: Vec<StageStatus>,
    /// Green's real traffic over the last [`TRAFFIC_WINDOW`] by executed version (the signal a
    /// rollout watches), where the cloud has a source for it.
    pub traffic: Option<BTreeMap<String, Counts>>,
    pub warnings: Vec<String>,
}

/// How far back `status` reads green's traffic.
const TRAFFIC_WINDOW: std::time::Duration = std::time::Duration::from_secs(300);

#[derive(Debug, Serialize)]
pub struct AliasStatus {
    pub alias: String,
    pub version: String,
    pub record: Option<VersionRecord>,
    /// Blue verified this very version (the rule of `ledger::verification`).
    pub verified: bool,
    pub promotion: Option<Promotion>,
    /// Extra versions and their shares: a rollout's split.
    pub weights: BTreeMap<String, f64>,
}

#[derive(Debug, Serialize)]
pub struct StageStatus {
    pub stage: String,
    pub url: String,
    pub variables: BTreeMap<String, String>,
    pub lock: Option<Lock>,
    /// What the stage reports live (`GET /version`), when it answered with a self-report.
    pub reports: Option<SelfReport>,
    /// Why it could not be asked, otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_error: Option<String>,
}

/// `status`: the image repository, each alias and what it serves, green's image, each stage
/// and what it reports live, green's traffic; whatever is amiss as a warning.
pub async fn status<C: Cloud>(ctx: &Ctx<C>, show_token: bool) -> Result<Status> {
    let mut warnings = Vec::new();
    let registry = ctx.find_registry().await?;
    if registry.is_none() {
        warnings.push(format!(
            "there is no image repository {}: run `cargo xtask provision`",
            ctx.config.repository_name()
        ));
    }
    let mut aliases = Vec::new();
    for alias in [GREEN, BLUE] {
        aliases.extend(aliases::alias_status(ctx, registry.as_ref(), alias, &mut warnings).await?);
    }
    let green = aliases.iter().find(|a| a.alias == GREEN);
    warnings.extend(aliases::green_image_warning(green, registry.as_ref()).await?);
    let stages = stages::stages(ctx, show_token, &mut warnings).await?;
    let traffic = green_traffic(ctx, green).await?;
    Ok(Status {
        function: ctx.function().to_owned(),
        aliases,
        stages,
        traffic,
        warnings,
    })
}

/// Green's real traffic over the last [`TRAFFIC_WINDOW`], by each version it routes to,
/// where the cloud has a source for it.
async fn green_traffic<C: Cloud>(
    ctx: &Ctx<C>,
    green: Option<&AliasStatus>,
) -> Result<Option<BTreeMap<String, Counts>>> {
    let (Some(traffic), Some(green)) = (&ctx.traffic, green) else {
        return Ok(None);
    };
    let since = crate::ledger::system_now() - TRAFFIC_WINDOW;
    let versions: Vec<String> = std::iter::once(green.version.clone())
        .chain(green.weights.keys().cloned())
        .collect();
    let counts = traffic
        .by_version(ctx.function(), GREEN, &versions, since)
        .await?;
    Ok(Some(counts))
}

/// A stage that passed the checks of a deploy: its self-report (the JSON result), and which
/// stage it is.
#[derive(Debug, Serialize)]
pub struct StageVerified {
    #[serde(skip)]
    pub stage: String,
    #[serde(flatten)]
    pub report: SelfReport,
}

/// `verify --stage S [--expect-version N]`: the checks of a deploy, alone.
pub async fn verify<C: Cloud>(
    ctx: &Ctx<C>,
    stage: &str,
    expect_version: Option<u64>,
) -> Result<StageVerified> {
    let api = ctx.find_api().await?.with_context(|| {
        format!(
            "there is no REST API {}: run `cargo xtask provision`",
            ctx.config.api_name()
        )
    })?;
    let found = ctx
        .cloud
        .get_stage(&api.id, stage)
        .await
        .with_context(|| format!("reading stage {stage}"))?;
    let alias = found
        .variables
        .get(super::ALIAS_VARIABLE)
        .cloned()
        .with_context(|| format!("stage {stage} has no alias variable"))?;
    let version = match expect_version {
        Some(v) => v,
        None => ctx
            .cloud
            .get_alias(ctx.function(), &alias)
            .await?
            .target
            .version
            .parse()
            .context("the alias points at no published version")?,
    };
    let (_, record) = ctx.version_record(&version.to_string()).await?;
    let endpoint = Endpoint {
        url: ctx.stage_url(&api, stage),
        token: found
            .variables
            .get(TOKEN_VARIABLE)
            .cloned()
            .map(Secret::registered),
    };
    let report = ctx
        .verify(
            &endpoint,
            &expect(version, &alias, &record),
            &ctx.config.smoke,
        )
        .await?;
    Ok(StageVerified {
        stage: stage.to_owned(),
        report,
    })
}
