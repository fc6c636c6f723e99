//! What provision creates, each only when it is missing: the function (retried while IAM
//! propagates its new role), aliases blue and green, the REST API and its routes, the
//! permission that lets a stage invoke an alias (read first: moto appends a duplicate where
//! AWS answers Conflict), and stage green. Each names what it created in `created`, the
//! report's list.
use std::{collections::BTreeMap, time::Duration};

use anyhow::{Result, bail};
use tokio::time::Instant;

use super::super::{ALIAS_VARIABLE, BLUE, Cloud, Ctx, GREEN, absent_as_none};
use crate::{
    cloud::{Alias, AliasTarget, FunctionSpec, RestApi, Stage},
    ledger::Promotion,
};

/// Alias blue at `version` when it is missing; one that exists moves only under the lock
/// (the green stage phase, a deploy).
pub(super) async fn ensure_blue_alias<C: Cloud>(
    ctx: &Ctx<C>,
    version: u64,
    created: &mut Vec<String>,
) -> Result<()> {
    let function = ctx.function();
    if absent_as_none(ctx.cloud.get_alias(function, BLUE).await)?.is_some() {
        return Ok(());
    }
    let target = AliasTarget::version(version.to_string());
    ctx.cloud.create_alias(function, BLUE, &target, "").await?;
    created.push(format!("alias {BLUE} → {version}"));
    Ok(())
}

/// The REST API the inspect phase found, else a new one.
pub(super) async fn ensure_api<C: Cloud>(
    ctx: &Ctx<C>,
    found: Option<RestApi>,
    created: &mut Vec<String>,
) -> Result<RestApi> {
    if let Some(api) = found {
        return Ok(api);
    }
    let api = ctx.cloud.create_rest_api(ctx.config.api_name()).await?;
    created.push(format!("REST API {} ({})", api.name, api.id));
    Ok(api)
}

/// `ANY /` and `ANY /{proxy+}` proxied to the function: an API an earlier provision left
/// without its routes gets them.
pub(super) async fn ensure_routes<C: Cloud>(
    ctx: &Ctx<C>,
    api: &RestApi,
    created: &mut Vec<String>,
) -> Result<()> {
    let routes = ctx.cloud.get_routes(&api.id).await?;
    let proxied = |path: &str| {
        routes.iter().any(|route| {
            route.path == path
                && route
                    .methods
                    .get("ANY")
                    .is_some_and(|i| i.kind == "AWS_PROXY")
        })
    };
    if proxied("/") && proxied("/{proxy+}") {
        return Ok(());
    }
    ctx.cloud
        .put_lambda_proxy_routes(api, &ctx.config.function_arn(&ctx.account))
        .await?;
    created.push(format!(
        "routes ANY / and ANY /{{proxy+}} of REST API {}",
        api.name
    ));
    Ok(())
}

/// Stage green from `deployment`, its requests to alias green: what users reach.
pub(super) async fn create_green_stage<C: Cloud>(
    ctx: &Ctx<C>,
    api: &RestApi,
    deployment: String,
    created: &mut Vec<String>,
) -> Result<()> {
    let green = Stage {
        name: GREEN.into(),
        deployment_id: deployment,
        variables: BTreeMap::from([(ALIAS_VARIABLE.into(), GREEN.into())]),
        description: "bgd: what users reach".into(),
    };
    ctx.cloud.create_stage(&api.id, &green).await?;
    created.push(format!("stage green ({})", ctx.stage_url(api, GREEN)));
    Ok(())
}

/// The permission that lets stage `alias` of `api` invoke alias `alias`; read first, since
/// moto appends a duplicate statement where AWS answers Conflict.
pub(super) async fn ensure_permission<C: Cloud>(
    ctx: &Ctx<C>,
    api: &RestApi,
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

/// The function as `spec` says: created, or, when it exists (an earlier provision left it
/// without a verified version), its code and then its configuration set to `spec`.
pub(super) async fn create_or_update_function<C: Cloud>(
    ctx: &Ctx<C>,
    exists: bool,
    spec: &FunctionSpec,
) -> Result<()> {
    if !exists {
        return create_function(ctx, spec).await;
    }
    let function = ctx.function();
    ctx.retry_conflicts(|| {
        ctx.cloud
            .update_function_code(function, &spec.image, &spec.architecture)
    })
    .await?;
    ctx.wait_updated().await?;
    ctx.retry_conflicts(|| {
        ctx.cloud
            .update_function_configuration(function, &spec.settings)
    })
    .await?;
    Ok(())
}

/// Alias green at `version`, which blue verified: created when missing (noted for the run's
/// closing statement, as `Ctx::write_green` notes its writes), else moved by a guarded promote
/// when it points elsewhere.
pub(super) async fn green_alias_at<C: Cloud>(
    ctx: &Ctx<C>,
    green_alias: Option<&Alias>,
    version: u64,
) -> Result<()> {
    match green_alias {
        None => {
            let promotion = Promotion::alone(version);
            let target = AliasTarget::version(version.to_string());
            let writes = &ctx.green_writes;
            writes.lock().expect("green_writes").sent(&target);
            ctx.cloud
                .create_alias(ctx.function(), GREEN, &target, &promotion.to_description())
                .await?;
            writes.lock().expect("green_writes").answered(&target, true);
        }
        Some(alias) if alias.target.version != version.to_string() => {
            ctx.promote(
                alias,
                super::super::Promote::Write {
                    version,
                    pinned: false,
                },
            )
            .await?;
        }
        Some(_) => {}
    }
    Ok(())
}

/// How long CreateFunction is retried while Lambda cannot assume the new role (IAM propagates
/// in seconds: <https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency>).
const ROLE_PROPAGATION: Duration = Duration::from_secs(120);

/// CreateFunction, retried while the new role cannot be assumed; one that exists already (a
/// concurrent provision) is taken as it is.
async fn create_function<C: Cloud>(ctx: &Ctx<C>, spec: &FunctionSpec) -> Result<()> {
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
