//! The blue/green pipeline, generic over the cloud's traits so the same code runs on AWS, on
//! the local cloud and in the simulation. One file per phase a user can name (`crate::phase`
//! lists them): preflight, build, lock, push, update, blue, verify, promote (and the one path
//! from a verified blue to green), shift/bake/revert (`rollout.rs`), cleanup; `deploy.rs` runs
//! them top to bottom. The verbs that reuse them sit beside: rollback, hold (promote, abort),
//! provision, destroy, prune, status, history. This file holds what every phase works with:
//! [`Ctx`].
mod blue;
mod build;
mod cleanup;
pub mod deploy;
pub mod destroy;
pub mod history;
pub mod hold;
pub mod lifecycle;
mod lock;

mod preflight;
mod promote;
pub mod promotion;
pub mod provision;
pub mod prune;
mod push;
pub mod resume;
pub mod rollback;
mod rollout;
pub mod statement;
pub mod status;
pub mod unpin;
mod update;
mod verify;
mod wait;

pub use crate::phase::Phase;
pub use lock::{LockOptions, lock_holder};
pub use promote::{Candidate, Promote};
pub use rollout::{Plan, Watched};
pub use verify::expect;

pub use crate::cloud::absent_as_none;

use std::{path::PathBuf, sync::Mutex, time::SystemTime};

use anyhow::{Context, Result};
use tokio::time::Instant;

use crate::{
    cloud::{Account, Apis, Functions, RegistryAccess, RestApi},
    config::Config,
    health::Traffic,
    image::Registry,
    ledger::VersionRecord,
    outcome::GreenWrites,
    probe::{Http, Prober},
    progress::Progress,
};

/// Everything the pipeline talks to: the cloud's operations, the image registry the account
/// names, and the HTTP its prober reaches stages with. AWS and the local cloud are
/// `bgd-aws`'s `SdkCloud` with the OCI registry and reqwest; the simulation (`bgd-sim`) is one
/// in-memory world behind all three.
pub trait Cloud: Functions + Apis + Account {
    type Registry: Registry;
    type Http: Http;
    /// A client of the registry `access` names, its writes metered with the cloud's.
    fn registry_client(&self, access: RegistryAccess) -> Result<Self::Registry>;
}

pub const BLUE: &str = "blue";
pub const GREEN: &str = "green";
/// The stage variable the integration URI's `${stageVariables.alias}` reads.
pub const ALIAS_VARIABLE: &str = "alias";
pub use crate::cloud::TOKEN_VARIABLE;

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
    /// `--timeout`, or a little before the credentials expire: past it, waits stop and the
    /// run ends (cleanup still runs, with credentials that still work).
    pub deadline: Instant,
    /// When this run's credentials expire, where that is known (`AWS_CREDENTIAL_EXPIRATION`
    /// beside session credentials): said when a plan does not fit the run.
    pub credentials_expire: Option<SystemTime>,
    /// `--hand-off`: a rollout that does not fit before the deadline stops short of it with
    /// green split (or baking) and its progress in green's record, for a later run to carry
    /// on (`resume`); without it, such a plan is refused up front.
    pub hand_off: bool,
    /// The writes this run sent green (only [`Ctx::write_green`] sends them): what the run's
    /// closing statement weighs against green as read afterwards.
    pub green_writes: Mutex<GreenWrites>,
    /// Real traffic through green by version, for a rollout to watch; `None` where no source
    /// is wired in (on AWS until CloudWatch is: synthetic probes only).
    pub traffic: Option<Box<dyn Traffic>>,
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
        Ok(absent_as_none(
            self.cloud.find_rest_api(self.config.api_name()).await,
        )?)
    }

    /// The build facts of a published version, from its Description.
    pub(crate) async fn version_record(
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
}
