//! Waiting out Lambda's asynchronous work. A function or version can be updated, published or
//! invoked only once its `State` is Active and its `LastUpdateStatus` is no longer InProgress;
//! meanwhile Lambda answers ResourceConflictException
//! (<https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html>). The SDK's waiters
//! (`function_active_v2`, `function_updated_v2`, `published_version_active`) poll the same
//! GetFunction fields; polling here keeps the deadline (`--timeout`) and the messages ours.
use std::{future::Future, time::Duration};

use anyhow::{Result, bail};
use tokio::time::Instant;

use super::{Cloud, Ctx};
use crate::cloud::{CloudResult, Version, VersionState};

/// The first pause between polls; it doubles up to [`MAX_POLL`]. Image optimisation takes
/// seconds to minutes on AWS, a fraction of a second on the local cloud.
const FIRST_POLL: Duration = Duration::from_millis(200);
const MAX_POLL: Duration = Duration::from_secs(2);
/// The longest pause between retries of a conflicting call.
const MAX_BACKOFF: Duration = Duration::from_secs(8);

impl<C: Cloud> Ctx<C> {
    /// Retries a call while Lambda says another update is in progress
    /// (ResourceConflictException), backing off up to 8 s, until the deadline.
    pub(crate) async fn retry_conflicts<T, F: Future<Output = CloudResult<T>>>(
        &self,
        mut call: impl FnMut() -> F,
    ) -> CloudResult<T> {
        let mut wait = FIRST_POLL;
        loop {
            match call().await {
                Err(e) if e.is_conflict() && Instant::now() + wait < self.deadline => {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(MAX_BACKOFF);
                }
                other => return other,
            }
        }
    }

    /// Waits until `$LATEST` takes the next change: Active (a new function is Pending while
    /// Lambda optimises its image, and its CreateFunction answer has no LastUpdateStatus at
    /// all) and its last update done.
    pub(crate) async fn wait_updated(&self) -> Result<Version> {
        self.wait_ready("$LATEST").await
    }

    /// Waits until published `version` is Active (a new version is Pending first). An
    /// Inactive version (idle for a while) is an error: only an invocation reactivates it.
    pub(crate) async fn wait_version_active(&self, version: &str) -> Result<Version> {
        self.wait_ready(version).await
    }

    async fn wait_ready(&self, qualifier: &str) -> Result<Version> {
        let function = self.function();
        let mut pause = FIRST_POLL;
        loop {
            let found = self.cloud.get_version(function, qualifier).await?;
            let updating = found.last_update_status.as_deref();
            match (found.state, updating) {
                (VersionState::Failed, _) | (_, Some("Failed")) => bail!(
                    "{qualifier} of {function} failed to become ready: see its StateReason and LastUpdateStatusReason (aws lambda get-function --function-name {function} --qualifier {qualifier})"
                ),
                (VersionState::Active, None | Some("Successful")) => return Ok(found),
                (VersionState::Inactive, _) => bail!(
                    "version {qualifier} of {function} is Inactive (idle): its next invocation reactivates it"
                ),
                (state, _) if Instant::now() + pause >= self.deadline => bail!(
                    "{qualifier} of {function} was still {state} (LastUpdateStatus {}) when --timeout passed",
                    updating.unwrap_or("none")
                ),
                _ => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_POLL);
                }
            }
        }
    }
}
