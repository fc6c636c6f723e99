//! `destroy`: removes everything provision made (the REST API with its stages, the function
//! with its versions, aliases and permissions, the repository with its images, the role).
//! What is already gone is skipped, so a half-finished destroy can simply run again.
use anyhow::Result;

use super::{BLUE, Cloud, Ctx, absent_as_none, lock_holder};
use crate::outcome::{Exit, refuse};

/// What was (or, with `dry_run`, would be) removed. A live lock (a deploy running now)
/// refuses unless `break_lock`: destroying under a deploy leaves it failing half-way.
pub async fn run<C: Cloud>(ctx: &Ctx<C>, dry_run: bool, break_lock: bool) -> Result<Vec<String>> {
    let config = &ctx.config;
    let mut removed = Vec::new();
    if let Some(api) = ctx.find_api().await? {
        if let Some(blue) = absent_as_none(ctx.cloud.get_stage(&api.id, BLUE).await)? {
            let (holder, expired) = lock_holder(&blue);
            if !expired && !break_lock {
                return Err(refuse(
                    Exit::LockHeld,
                    format!(
                        "a deploy holds the lock (stage blue): {holder}; wait for it to finish, or pass --break-lock if it died"
                    ),
                ));
            }
        }
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
