//! Each stage in `status`: its variables, the lock (blue), and what it reports live.
use anyhow::Result;

use super::StageStatus;
use crate::{
    cloud::RestApi,
    ledger::Lock,
    pipeline::{BLUE, Cloud, Ctx, GREEN, TOKEN_VARIABLE, absent_as_none},
    probe::Endpoint,
    secret::Secret,
};

/// Stages green and blue of the API; none (and a warning) before provision created it.
pub(super) async fn stages<C: Cloud>(
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
