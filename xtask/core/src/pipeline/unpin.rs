//! `unpin` (and `deploy --unpin`): clears the pin a rollback set, so deploys may proceed.
use anyhow::Result;

use super::{Cloud, Ctx, rollback};
use crate::ledger::Promotion;

/// Clears the rollback pin: one guarded UpdateAlias that keeps green's version. A live lock
/// refuses unless `break_lock` (`deploy --unpin --break-lock` passes it on: the simulation's
/// seed 22682).
pub async fn unpin<C: Cloud>(ctx: &Ctx<C>, dry_run: bool, break_lock: bool) -> Result<String> {
    let (state, _) = rollback::state(ctx, break_lock, |_| false).await?;
    let Some(promotion) = state.promotion.filter(|p| p.pinned) else {
        return Ok(format!(
            "green (version {}) is not pinned: nothing to do",
            state.green.target.version
        ));
    };
    if dry_run {
        return Ok(format!("would unpin green (version {})", promotion.version));
    }
    let unpinned = Promotion {
        pinned: false,
        ..promotion
    };
    // Green keeps where it routes, a split included: unpin changes only the record.
    let target = state.green.target.clone();
    ctx.write_green(&state.green, &target, Some(&unpinned.to_description()))
        .await?;
    Ok(format!(
        "unpinned green (version {}): deploys may proceed",
        unpinned.version
    ))
}
