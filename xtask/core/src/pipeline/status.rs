//! `status` and `verify`: reads only. Status shows each alias → version → build, each stage →
//! variables and URL, what each endpoint reports live, and drift warnings.
use std::{collections::BTreeMap, fmt};

use anyhow::{Context, Result};
use serde::Serialize;

use super::{BLUE, Cloud, Ctx, GREEN, TOKEN_VARIABLE, absent_as_none, expect};
use crate::{
    cloud::{Repository, RestApi},
    health::Counts,
    image::Registry,
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
        aliases.extend(alias_status(ctx, registry.as_ref(), alias, &mut warnings).await?);
    }
    let green = aliases.iter().find(|a| a.alias == GREEN);
    warnings.extend(green_image_warning(green, registry.as_ref()).await?);
    let stages = stages(ctx, show_token, &mut warnings).await?;
    let traffic = green_traffic(ctx, green).await?;
    Ok(Status {
        function: ctx.function().to_owned(),
        aliases,
        stages,
        traffic,
        warnings,
    })
}

/// One alias: the version it serves, that version's build record and whether blue verified
/// it, and (green only) its promotion record; `None` when the alias is missing.
async fn alias_status<C: Cloud>(
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
async fn green_image_warning<R: Registry>(
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

/// Stages green and blue of the API; none (and a warning) before provision created it.
async fn stages<C: Cloud>(
    ctx: &Ctx<C>,
    show_token: bool,
    warnings: &mut Vec<String>,
) -> Result<Vec<StageStatus>> {
    let Some(api) = ctx.find_api().await? else {
        warnings.push(format!(
            "there is no REST API {}: run `cargo xtask provision`",
            ctx.config.api_name()
        ));
        return Ok(Vec::new());
    };
    let mut stages = Vec::new();
    for name in [GREEN, BLUE] {
        stages.extend(stage_status(ctx, &api, name, show_token, warnings).await?);
    }
    Ok(stages)
}

/// One stage: its variables (the token hidden unless `show_token`), the lock (blue) and what
/// it reports live; `None` when it is missing (a warning for green: blue is the lock, absent
/// between runs).
async fn stage_status<C: Cloud>(
    ctx: &Ctx<C>,
    api: &RestApi,
    name: &str,
    show_token: bool,
    warnings: &mut Vec<String>,
) -> Result<Option<StageStatus>> {
    let Some(stage) = absent_as_none(ctx.cloud.get_stage(&api.id, name).await)? else {
        if name == GREEN {
            warnings.push("stage green is missing: run `cargo xtask provision`".into());
        }
        return Ok(None);
    };
    let lock = (name == BLUE)
        .then(|| Lock::parse(&stage.description).ok())
        .flatten();
    if name == BLUE {
        let holder = lock
            .as_ref()
            .map_or_else(|| "not made by a deploy".into(), ToString::to_string);
        warnings.push(format!("stage blue exists (the deploy lock): {holder}"));
    }
    let endpoint = Endpoint {
        url: ctx.stage_url(api, name),
        // Not registered: `--show-token` prints it on purpose.
        token: stage
            .variables
            .get(TOKEN_VARIABLE)
            .cloned()
            .map(Secret::from),
    };
    let (reports, report_error) = match ctx.prober.self_report(&endpoint).await {
        Ok(report) => (Some(report), None),
        Err(failure) => (None, Some(failure.to_string())),
    };
    let mut variables = stage.variables;
    if !show_token && let Some(token) = variables.get_mut(TOKEN_VARIABLE) {
        *token = "(hidden: --show-token)".into();
    }
    Ok(Some(StageStatus {
        stage: name.into(),
        url: endpoint.url,
        variables,
        lock,
        reports,
        report_error,
    }))
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

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "function {}", self.function)?;
        for alias in &self.aliases {
            write!(f, "{alias}")?;
        }
        for (version, counts) in self.traffic.iter().flatten() {
            writeln!(
                f,
                "  green traffic (5 min) version {version}: {counts} requests"
            )?;
        }
        for stage in &self.stages {
            write!(f, "{stage}")?;
        }
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        Ok(())
    }
}

/// An alias's lines in `status`: its version and build, then its split.
impl fmt::Display for AliasStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "  alias {:<6} → version {:<4} {:<12}",
            self.alias,
            self.version,
            if self.verified {
                "verified"
            } else {
                "not verified"
            }
        )?;
        match &self.record {
            Some(r) => writeln!(
                f,
                " git {} digest {} published {} by {}",
                crate::ledger::short(&r.git_sha),
                r.digest,
                r.published_at,
                r.actor
            )?,
            None => writeln!(f, " (no build record)")?,
        }
        for (version, weight) in &self.weights {
            writeln!(f, "    split: {:.0}% on version {version}", weight * 100.0)?;
        }
        Ok(())
    }
}

/// A stage's lines in `status`: its URL, variables and what it reports live (or the first
/// line of why it could not be asked).
impl fmt::Display for StageStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "  stage {:<6} {}", self.stage, self.url)?;
        for (k, v) in &self.variables {
            writeln!(f, "    {k} = {v}")?;
        }
        match (&self.reports, &self.report_error) {
            (Some(r), _) => writeln!(
                f,
                "    reports version {} alias {} build {}",
                r.version.as_deref().unwrap_or("?"),
                r.alias.as_deref().unwrap_or("none"),
                crate::ledger::short(&r.build.git_sha)
            ),
            (None, e) => writeln!(
                f,
                "    could not ask it: {}",
                e.as_deref()
                    .unwrap_or_default()
                    .lines()
                    .next()
                    .unwrap_or_default()
            ),
        }
    }
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

impl fmt::Display for StageVerified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let report = &self.report;
        writeln!(
            f,
            "stage {} verified: version {} alias {} build {}",
            self.stage,
            report.version.as_deref().unwrap_or("?"),
            report.alias.as_deref().unwrap_or("none"),
            report.build.git_sha
        )
    }
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
