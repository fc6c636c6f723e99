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

/// The preflight phase: what exists and what green runs, read once; refuses a pinned green, a
/// function on the other architecture, an alarm in ALARM.
pub(super) async fn preflight<C: Cloud>(ctx: &Ctx<C>, options: &Options) -> Result<Preflight> {
    let settings = ctx.config.settings()?;
    let (api, green_stage, green) = stack(ctx).await?;
    let pinned = pinned(&green, options.unpin)?;
    let green_version = ctx
        .cloud
        .get_version(ctx.function(), &green.target.version)
        .await?;
    if !options.switch_architecture {
        let latest = ctx.cloud.get_version(ctx.function(), "$LATEST").await?;
        image::check_architecture(&ctx.config.function.architecture, &latest.architecture)?;
    }
    no_alarm_firing(ctx, &green).await?;
    Ok(Preflight {
        api,
        green,
        green_stage,
        green_version,
        pinned,
        settings,
    })
}

/// What provision made and a deploy needs: the REST API, its stage green and alias green.
async fn stack<C: Cloud>(ctx: &Ctx<C>) -> Result<(RestApi, Stage, Alias)> {
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
    Ok((api, green_stage, green))
}

/// Whether a rollback pinned green (its Description carries the pin): refused unless `unpin`,
/// and so is a Description bgd did not write, as whether it pins cannot be told.
fn pinned(green: &Alias, unpin: bool) -> Result<bool> {
    let pinned = match Promotion::parse(&green.description) {
        Ok(promotion) => Some(promotion).filter(|p| p.pinned),
        Err(_) if green.description.is_empty() => None,
        Err(_) if unpin => None,
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
        && !unpin
    {
        return Err(refuse(
            Exit::Pinned,
            format!(
                "green is pinned to version {} by a rollback ({} at {}): run `cargo xtask unpin`, or deploy with --unpin",
                promotion.version, promotion.actor, promotion.at
            ),
        ));
    }
    Ok(pinned.is_some())
}

/// None of the rollout's alarms is in ALARM (one that does not exist is an error).
pub(super) async fn no_alarm_firing<C: Cloud>(ctx: &Ctx<C>, green: &Alias) -> Result<()> {
    let alarms = &ctx.config.rollout.alarms;
    if let Some(traffic) = &ctx.traffic
        && !alarms.is_empty()
    {
        // A missing alarm is a typo to fix now; one already in ALARM would roll back any
        // version, so this one is not shipped into it. When green's own version fires it,
        // it never clears by waiting: the advice names the rollback.
        if let Some(name) = traffic.alarming(alarms).await?.first() {
            bail!(
                "alarm {name} is in ALARM already: green stays on version {}; deploy once it is OK again, or, if version {0} is what fires it, put the version before back with `cargo xtask rollback`",
                green.target.version
            );
        }
    }
    Ok(())
}

/// Green already runs this image with this configuration.
pub(super) fn is_deployed(green: &Version, built: &Built, settings: &Settings) -> bool {
    green
        .image
        .as_ref()
        .is_some_and(|image| image.digest == built.digest)
        && &green.settings == settings
}
