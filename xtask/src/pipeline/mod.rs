//! The blue/green pipeline, generic over the cloud's traits so the same code runs on AWS, on
//! the local cloud and under test fakes. One file per phase a user can name (`phase.rs` lists
//! them): preflight, build, lock, push, update, blue, verify, promote, cleanup; `deploy.rs`
//! runs them top to bottom. The verbs that reuse them sit beside: rollback, hold (promote,
//! abort), provision, destroy, status. This file holds what every phase works with: [`Ctx`].
mod blue;
mod build;
mod cleanup;
pub mod deploy;
pub mod destroy;
pub mod hold;
mod lock;
mod phase;
mod preflight;
mod promote;
pub mod provision;
mod push;
pub mod rollback;
pub mod status;
mod update;
mod verify;
mod wait;

pub use build::default_image_dir;
pub use lock::{LockOptions, lock_holder};
pub use phase::Phase;
pub use promote::Candidate;
pub use verify::expect;

use std::{path::PathBuf, sync::Mutex};

use anyhow::{Context, Result};
use tokio::time::Instant;

use crate::{
    cloud::{Account, Apis, CloudResult, Functions, ImageRef, RegistryAccess, RestApi},
    config::Config,
    image::{OciRegistry, Registry},
    ledger::VersionRecord,
    progress::Progress,
    verify::{Http, HttpClient, Prober},
};

/// Everything the pipeline talks to: the cloud's operations, the image registry the account
/// names, and the HTTP its prober reaches stages with. AWS and the local cloud are
/// [`crate::cloud::Cloud`] with the OCI registry and reqwest; the simulation (`sim/`) is one
/// in-memory world behind all three.
pub trait Cloud: Functions + Apis + Account {
    type Registry: Registry;
    type Http: Http;
    /// A client of the registry `access` names, its writes metered with the cloud's.
    fn registry_client(&self, access: RegistryAccess) -> Result<Self::Registry>;
}

impl Cloud for crate::cloud::Cloud {
    type Registry = OciRegistry;
    type Http = HttpClient;

    fn registry_client(&self, access: RegistryAccess) -> Result<OciRegistry> {
        if let Some((_, password)) = &access.basic {
            crate::secret::register(password);
        }
        let scheme = if access.plain_http { "http" } else { "https" };
        let registry = OciRegistry::new(&format!("{scheme}://{}", access.host), access.basic)?;
        Ok(registry.metered(self.write_meter()))
    }
}

pub const BLUE: &str = "blue";
pub const GREEN: &str = "green";
/// The stage variable the integration URI's `${stageVariables.alias}` reads.
pub const ALIAS_VARIABLE: &str = "alias";
/// The stage variable the app compares `x-verify-token` with (blue only).
pub const TOKEN_VARIABLE: &str = "verify_token";

/// What every verb works with: the cloud, deploy.toml, who we are, where stages answer.
pub struct Ctx<C: Cloud> {
    pub cloud: C,
    pub config: Config,
    pub account: String,
    /// The local gateway's URL on the local cloud; `None` on AWS.
    pub local_gateway: Option<String>,
    /// Where the function's output lands on the local cloud (shown when verification fails).
    pub function_log: Option<PathBuf>,
    pub progress: Progress,
    pub prober: Prober<C::Http>,
    /// `--timeout`: past it, waits stop and the run ends (cleanup still runs).
    pub deadline: Instant,
    /// The version this run last asked green to move to, set before the write is sent: what
    /// the run's closing statement weighs against green as read afterwards.
    pub green_attempt: Mutex<Option<u64>>,
}

impl<C: Cloud> Ctx<C> {
    pub fn function(&self) -> &str {
        self.config.function_name()
    }

    pub fn stage_url(&self, api: &RestApi, stage: &str) -> String {
        self.config
            .stage_url(&api.id, stage, self.local_gateway.as_deref())
    }

    /// The REST API, or `None` when provision has not created it.
    pub async fn find_api(&self) -> Result<Option<RestApi>> {
        absent_as_none(self.cloud.find_rest_api(self.config.api_name()).await)
    }

    /// The build facts of a published version, from its Description.
    pub async fn version_record(
        &self,
        version: &str,
    ) -> Result<(crate::cloud::Version, VersionRecord)> {
        let published = self.cloud.get_version(self.function(), version).await?;
        let record = VersionRecord::parse(&published.description).with_context(|| {
            format!(
                "version {version} of {} was not published by bgd",
                self.function()
            )
        })?;
        Ok((published, record))
    }

    /// The image a version runs, as the function's repository names it.
    pub fn image_of(
        &self,
        repository: &crate::cloud::Repository,
        record: &VersionRecord,
    ) -> ImageRef {
        repository.image(&record.digest)
    }
}

/// NotFound as `None`; every other error stays an error (with what to do, for the verbs).
pub fn absent_as_none<T>(result: CloudResult<T>) -> Result<Option<T>> {
    Ok(crate::cloud::absent_as_none(result)?)
}
