//! The closing statement of a verb that may move green (deploy, promote, rollback): green read
//! after the run and judged against the run's own writes ([`Green::judge`]), and a failure
//! after this run moved green turned into exit 3 naming the way back. `xtask` prints it; the
//! simulation's oracle judges it against what the world saw.
use std::future::Future;

use anyhow::Result;

use super::{Cloud, Ctx, GREEN};
use crate::{
    ledger::VersionRecord,
    outcome::{Exit, Green, Served, exit_of, refuse},
};

/// What green serves now: where it routes and its main version's build record.
pub async fn read_green<C: Cloud>(ctx: &Ctx<C>) -> Result<Option<Served>, String> {
    let function = ctx.function();
    let alias = match ctx.cloud.get_alias(function, GREEN).await {
        Err(e) if e.is_not_found() => return Ok(None),
        other => other.map_err(|e| format!("{e}"))?,
    };
    let record = match ctx.cloud.get_version(function, &alias.target.version).await {
        Ok(v) => VersionRecord::parse(&v.description).ok(),
        Err(e) => return Err(format!("{e}")),
    };
    Ok(Some(Served {
        target: alias.target,
        git_sha: record.as_ref().map(|r| r.git_sha.clone()),
        build_id: record.and_then(|r| r.build_id),
    }))
}

/// Runs `work`, then reads green and judges what it serves and whether this run moved it. A
/// failure after this run moved green (or sent the write that may have) is exit 3 and names
/// the way back; a rollout's revert keeps its exit 7.
pub async fn stating_green<C: Cloud, T>(
    ctx: &Ctx<C>,
    work: impl Future<Output = Result<T>>,
) -> (Result<T>, Green) {
    let before = read_green(ctx).await.ok().flatten().map(|s| s.target);
    let result = work.await;
    let writes = ctx.green_writes.lock().expect("green_writes").clone();
    let green = Green::judge(before, read_green(ctx).await, &writes);
    let result = result.map_err(|error| match green.put_back() {
        // A revert put green back on the old version alone, as exit 7 says, even when the run
        // first settled a split another run left (green then differs from how the run found
        // it): `rollback --to` that version would change nothing.
        _ if exit_of(&error) == Exit::RolledBack => error,
        Some(back) => refuse(
            Exit::GreenMoved,
            format!("{green}; `{back}` puts it back: {error:#}"),
        ),
        None if green.maybe_moved_by_this_run() => {
            refuse(Exit::GreenMoved, format!("{green}: {error:#}"))
        }
        None => error,
    });
    (result, green)
}
