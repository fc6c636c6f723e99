//! A deploy's preflight (what exists, what green runs, whether a rollback pinned it, whether the
//! function runs on deploy.toml's architecture, deploy.toml's settings resolved before minutes of
//! building, the rollout's alarms exist and none is in ALARM) and its no-op check.
use anyhow::{Context, Result, bail};

use super::{Cloud, Ctx, GREEN, absent_as_none, deploy::Options};
use crate::{
    cloud::{Alias, RestApi, Settings, Stage, Version},
    image::{self, Built},
    ledger::Promotion,
    outcome::{Exit, refuse},
};

/// What preflight read: the state every later phase works from.
pub(super) struct Preflight {
    pub api: RestApi,
    pub green: Alias,
    pub green_stage: Stage,
    pub green_version: Version,
    /// A rollback pinned green (and `--unpin` lets this run go on).
    pub pinned: bool,
    /// deploy.toml's settings, resolved before the build so an unset `${VAR}` stops the run
    /// before minutes of compiling.
    pub settings: Settings,
}

pub(super) async fn preflight<C: Cloud>(ctx: &Ctx<C>, options: &Options) -> Result<Preflight> {
    let settings = ctx.config.settings()?;
    let Some(api) = ctx.find_api().await? else {
        bail!(
            "there is no REST API {}: run `cargo xtask provision` first",
            ctx.config.api_name()
        );
    };
    let green_stage =
        absent_as_none(ctx.cloud.get_stage(&api.id, GREEN).await)?.with_context(|| {
            format!(
                "REST API {} has no stage green: run `cargo xtask provision`",
                api.name
            )
        })?;
    let green =
        absent_as_none(ctx.cloud.get_alias(ctx.function(), GREEN).await)?.with_context(|| {
            format!(
                "{} has no alias green: run `cargo xtask provision`",
                ctx.function()
            )
        })?;
    // Green's Description carries the rollback pin: one nobody can read fails closed.
    let pinned = match Promotion::parse(&green.description) {
        Ok(promotion) => Some(promotion).filter(|p| p.pinned),
        Err(_) if green.description.is_empty() => None,
        Err(_) if options.unpin => None,
        Err(_) => {
            return Err(refuse(
                Exit::Pinned,
                format!(
                    "green's description {:?} was not written by bgd, so whether a rollback pinned it cannot be told: deploy with --unpin if it is not pinned",
                    green.description
                ),
            ));
        }
    };
    if let Some(promotion) = &pinned
        && !options.unpin
    {
        return Err(refuse(
            Exit::Pinned,
            format!(
                "green is pinned to version {} by a rollback ({} at {}): run `cargo xtask unpin`, or deploy with --unpin",
                promotion.version, promotion.actor, promotion.at
            ),
        ));
    }
    let green_version = ctx
        .cloud
        .get_version(ctx.function(), &green.target.version)
        .await?;
    if !options.switch_architecture {
        let latest = ctx.cloud.get_version(ctx.function(), "$LATEST").await?;
        image::check_architecture(&ctx.config.function.architecture, &latest.architecture)?;
    }
    let alarms = &ctx.config.rollout.alarms;
    if let Some(traffic) = &ctx.traffic
        && !alarms.is_empty()
    {
        // A missing alarm is a typo to fix now; one already in ALARM would roll back any
        // version, so this one is not shipped into it.
        if let Some(name) = traffic.alarming(alarms).await?.first() {
            bail!(
                "alarm {name} is in ALARM already: green stays on version {}; deploy once it is OK again",
                green.target.version
            );
        }
    }
    Ok(Preflight {
        api,
        green,
        green_stage,
        green_version,
        pinned: pinned.is_some(),
        settings,
    })
}

/// Green already runs this image with this configuration.
pub(super) fn is_deployed(green: &Version, built: &Built, settings: &Settings) -> bool {
    green
        .image
        .as_ref()
        .is_some_and(|image| image.digest == built.digest)
        && &green.settings == settings
}
