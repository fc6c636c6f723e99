//! The two resources provision creates with care: the function (retried while IAM propagates
//! its new role) and the permission that lets a stage invoke an alias (read first: moto appends
//! a duplicate where AWS answers Conflict).
use std::time::Duration;

use anyhow::{Result, bail};
use tokio::time::Instant;

use super::super::{Cloud, Ctx};
use crate::cloud::FunctionSpec;

/// The permission that lets stage `alias` of `api` invoke alias `alias`; read first, since
/// moto appends a duplicate statement where AWS answers Conflict.
pub(super) async fn ensure_permission<C: Cloud>(
    ctx: &Ctx<C>,
    api: &crate::cloud::RestApi,
    alias: &str,
    created: &mut Vec<String>,
) -> Result<()> {
    let function = ctx.function();
    let statement = ctx.config.permission_statement_id(alias);
    let source = ctx.config.stage_source_arn(&ctx.account, &api.id, alias);
    if ctx
        .cloud
        .permission_statements(function, alias)
        .await?
        .contains(&statement)
    {
        return Ok(());
    }
    match ctx
        .cloud
        .add_permission(function, alias, &statement, &source)
        .await
    {
        Ok(()) => created.push(format!(
            "permission {statement} (stage {alias} → alias {alias})"
        )),
        // Added by a concurrent provision between the read and the write.
        Err(e) if e.is_conflict() => {}
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// How long CreateFunction is retried while Lambda cannot assume the new role (IAM propagates
/// in seconds: <https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency>).
const ROLE_PROPAGATION: Duration = Duration::from_secs(120);

/// CreateFunction, retried while the new role cannot be assumed; one that exists already (a
/// concurrent provision) is taken as it is.
pub(super) async fn create_function<C: Cloud>(ctx: &Ctx<C>, spec: &FunctionSpec) -> Result<()> {
    let started = Instant::now();
    loop {
        match ctx.cloud.create_image_function(spec).await {
            Ok(_) => return Ok(()),
            Err(e) if e.is_conflict() => return Ok(()),
            Err(e)
                if e.is_not_ready()
                    && started.elapsed() < ROLE_PROPAGATION
                    && Instant::now() < ctx.deadline =>
            {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) if e.is_not_ready() => bail!(
                "{e}\nLambda still cannot assume role {} after {} s: check that its trust policy names lambda.amazonaws.com, then run `cargo xtask provision` again",
                spec.role_arn,
                started.elapsed().as_secs()
            ),
            Err(e) => return Err(e.into()),
        }
    }
}
