//! `destroy`: removes everything provision made (the REST API with its stages, the function
//! with its versions, aliases and permissions, the repository with its images, the role).
//! What is already gone is skipped, so a half-finished destroy can simply run again.
use anyhow::Result;

use super::{Cloud, Ctx, absent_as_none};

/// What was (or, with `dry_run`, would be) removed.
pub async fn run<C: Cloud>(ctx: &Ctx<C>, dry_run: bool) -> Result<Vec<String>> {
    let config = &ctx.config;
    let mut removed = Vec::new();
    if let Some(api) = ctx.find_api().await? {
        if !dry_run {
            absent_as_none(ctx.cloud.delete_rest_api(&api.id).await)?;
        }
        removed.push(format!("REST API {} ({}) and its stages", api.name, api.id));
    }
    if absent_as_none(ctx.cloud.get_version(ctx.function(), "$LATEST").await)?.is_some() {
        if !dry_run {
            absent_as_none(ctx.cloud.delete_function(ctx.function()).await)?;
        }
        removed.push(format!(
            "function {} with its versions, aliases and permissions",
            ctx.function()
        ));
    }
    if dry_run {
        removed.push(format!(
            "repository {} with its images (if present)",
            config.repository_name()
        ));
        removed.push(format!("role {} (if present)", config.role_name()));
        return Ok(removed);
    }
    if absent_as_none(ctx.cloud.delete_repository(config.repository_name()).await)?.is_some() {
        removed.push(format!(
            "repository {} with its images",
            config.repository_name()
        ));
    }
    if absent_as_none(ctx.cloud.delete_function_role(&config.role_name()).await)?.is_some() {
        removed.push(format!("role {}", config.role_name()));
    }
    Ok(removed)
}
