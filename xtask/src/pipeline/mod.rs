//! The blue/green pipeline as named phases, each idempotent, generic over the cloud's traits so
//! the same code runs on AWS, on the local cloud and under test fakes. Shared phases live here:
//! the lock (the temporary `blue` stage), pointing an alias, waiting out Lambda's updates,
//! verifying a stage, promoting to green.
pub mod deploy;
pub mod destroy;
pub mod hold;
mod lock;
pub mod provision;
pub mod rollback;
pub mod status;
mod wait;

pub use lock::{LockOptions, lock_holder};

use std::{path::PathBuf, sync::Mutex, time::Duration};

use anyhow::{Context, Result, bail};
use tokio::time::Instant;

use crate::{
    cloud::{
        Account, Alias, AliasTarget, Apis, CloudResult, Functions, ImageRef, RestApi, Version,
    },
    config::{Config, Smoke},
    image::{Built, Image, Registry, build_image},
    ledger::{self, Promotion, VersionRecord},
    outcome::{Exit, refuse},
    progress::Progress,
    verify::{Endpoint, Expect, Failure, Prober, SelfReport},
};

/// Every operation the pipeline uses.
pub trait Cloud: Functions + Apis + Account {}
impl<T: Functions + Apis + Account> Cloud for T {}

pub const BLUE: &str = "blue";
pub const GREEN: &str = "green";
/// The stage variable the integration URI's `${stageVariables.alias}` reads.
pub const ALIAS_VARIABLE: &str = "alias";
/// The stage variable the app compares `x-verify-token` with (blue only).
pub const TOKEN_VARIABLE: &str = "verify_token";
/// How long a stage may take to report the expected version after an alias moved.
const PROPAGATION: Duration = Duration::from_secs(30);

/// What every verb works with: the cloud, deploy.toml, who we are, where stages answer.
pub struct Ctx<C> {
    pub cloud: C,
    pub config: Config,
    pub account: String,
    /// The local gateway's URL on the local cloud; `None` on AWS.
    pub local_gateway: Option<String>,
    /// Where the function's output lands on the local cloud (shown when verification fails).
    pub function_log: Option<PathBuf>,
    pub progress: Progress,
    pub prober: Prober,
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

    /// The image to ship: one built earlier (`--image DIR`) or this commit, built now.
    pub async fn image(&self, options: &deploy::Options) -> Result<(Built, Image)> {
        match &options.image {
            Some(dir) => Built::read(dir),
            None => tokio::task::block_in_place(|| {
                let sh = xshell::Shell::new()?;
                build_image(
                    &sh,
                    &self.config,
                    options.build_id.clone(),
                    &default_image_dir(),
                )
            }),
        }
    }

    /// The image registry and the function's repository in it.
    /// Reads only: the repository is provision's to create, so status, history and rollback
    /// never write, and a deploy never creates a repository Lambda may not pull from.
    pub async fn registry(&self) -> Result<(Registry, crate::cloud::Repository)> {
        let name = self.config.repository_name();
        self.find_registry().await?.with_context(|| {
            format!("there is no image repository {name}: run `cargo xtask provision`")
        })
    }

    /// The registry and the function's repository, `None` when there is no repository.
    pub async fn find_registry(&self) -> Result<Option<(Registry, crate::cloud::Repository)>> {
        let Some(repository) =
            absent_as_none(self.cloud.repository(self.config.repository_name()).await)?
        else {
            return Ok(None);
        };
        let access = self.cloud.registry_access().await?;
        if let Some((_, password)) = &access.basic {
            crate::secret::register(password);
        }
        let scheme = if access.plain_http { "http" } else { "https" };
        let registry = Registry::new(&format!("{scheme}://{}", access.host), access.basic)?;
        Ok(Some((registry, repository)))
    }

    /// Points `alias` at `version`, creating the alias when missing.
    pub async fn point_alias(&self, alias: &str, version: &str) -> Result<Alias> {
        let target = AliasTarget::version(version);
        let moved = self
            .retry_conflicts(|| {
                self.cloud
                    .update_alias(self.function(), alias, &target, None, None)
            })
            .await;
        match moved {
            Err(e) if e.is_not_found() => Ok(self
                .cloud
                .create_alias(self.function(), alias, &target, "")
                .await?),
            other => Ok(other?),
        }
    }

    /// Points blue at `version` and verifies it there; records the verification (the image
    /// tag of this very publication) before green moves, so a tagging failure leaves green as
    /// it was; then promotes it to green and checks green reports it.
    pub async fn blue_then_green(
        &self,
        api: &RestApi,
        token: &str,
        green: &Alias,
        candidate: Candidate<'_>,
        registry: (&Registry, &str),
    ) -> Result<()> {
        self.verify_on_blue(api, token, candidate, registry).await?;
        self.promote_phase(api, green, candidate).await
    }

    /// The blue and verify phases: blue → `version`, every check, the verification recorded.
    pub async fn verify_on_blue(
        &self,
        api: &RestApi,
        token: &str,
        candidate: Candidate<'_>,
        (registry, repository): (&Registry, &str),
    ) -> Result<()> {
        let Candidate {
            version,
            record,
            description,
            ..
        } = candidate;
        let p = &self.progress;
        p.phase("blue", self.point_alias(BLUE, &version.to_string()))
            .await?;
        p.phase("verify", async {
            self.verify_blue(api, token, version, record).await?;
            registry
                .tag(
                    repository,
                    &record.digest,
                    &ledger::verified_tag(version, description),
                )
                .await
                .context("recording the verification (image tag); green was not moved")
        })
        .await?;
        Ok(())
    }

    /// The promote phase: green → the candidate (guarded by `green`'s RevisionId), then green
    /// must report it.
    pub async fn promote_phase(
        &self,
        api: &RestApi,
        green: &Alias,
        candidate: Candidate<'_>,
    ) -> Result<()> {
        self.progress
            .phase("promote", async {
                self.promote(green, candidate.version, candidate.pin)
                    .await?;
                self.probe_green(api, candidate.version, candidate.record)
                    .await
            })
            .await?;
        Ok(())
    }

    /// Whether blue verified this very version, by the one rule of [`ledger::verification`]:
    /// the record, the image Lambda reports and the verification tag must agree.
    pub async fn verification(
        &self,
        registry: &Registry,
        repository: &str,
        version: &Version,
    ) -> Result<Result<VersionRecord, String>> {
        let number: u64 = version
            .version
            .parse()
            .with_context(|| format!("version {:?} is not a published version", version.version))?;
        let tagged = registry
            .digest_of(
                repository,
                &ledger::verified_tag(number, &version.description),
            )
            .await?;
        Ok(ledger::verification(version, tagged.as_deref()))
    }

    /// Blue (alias and stage) reports `version` of this build, healthy, smoke checks passing,
    /// and refuses requests without the token.
    pub async fn verify_blue(
        &self,
        api: &RestApi,
        token: &str,
        version: u64,
        record: &VersionRecord,
    ) -> Result<SelfReport> {
        let blue = Endpoint {
            url: self.stage_url(api, BLUE),
            token: Some(token.into()),
        };
        self.verify(&blue, &expect(version, BLUE, record), &self.config.smoke)
            .await
    }

    /// Green reports `version` (after the alias move propagates).
    pub async fn probe_green(
        &self,
        api: &RestApi,
        version: u64,
        record: &VersionRecord,
    ) -> Result<SelfReport> {
        let green = Endpoint {
            url: self.stage_url(api, GREEN),
            token: None,
        };
        self.verify(&green, &expect(version, GREEN, record), &[])
            .await
    }

    /// Checks what a stage reports; on failure the error shows the check and the function's
    /// recent log lines.
    pub async fn verify(
        &self,
        endpoint: &Endpoint,
        expect: &Expect,
        smoke: &[Smoke],
    ) -> Result<SelfReport> {
        let patience = PROPAGATION.min(self.deadline.saturating_duration_since(Instant::now()));
        self.prober
            .verify(endpoint, expect, smoke, patience)
            .await
            .map_err(|failure| refuse(Exit::VerificationFailed, self.explain(failure)))
    }

    fn explain(&self, failure: Failure) -> String {
        let logs = match &self.function_log {
            Some(path) => {
                let text = std::fs::read_to_string(path).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(20)..].join("\n  ");
                format!(
                    "the function's last log lines ({}):\n  {tail}",
                    path.display()
                )
            }
            None => format!(
                "the function's logs: CloudWatch log group /aws/lambda/{}",
                self.function()
            ),
        };
        format!("{failure}\n{logs}")
    }

    /// Moves green to `version` in one guarded call: with the RevisionId read before, a green
    /// moved by someone else fails instead of being overwritten. The alias Description records
    /// the promotion.
    pub async fn promote(&self, green: &Alias, version: u64, pinned: bool) -> Result<Alias> {
        let promotion = Promotion {
            version,
            from: green.target.version.parse().ok(),
            actor: ledger::actor(),
            at: ledger::now_rfc3339(),
            pinned,
        };
        let description = promotion.to_description();
        let target = AliasTarget::version(version.to_string());
        *self.green_attempt.lock().expect("green_attempt") = Some(version);
        let moved = self
            .cloud
            .update_alias(
                self.function(),
                GREEN,
                &target,
                Some(&description),
                green.revision_id.as_deref(),
            )
            .await;
        match moved {
            Err(e) if e.is_precondition_failed() => bail!(
                "green moved since this run read it (someone else deployed or rolled back): nothing was promoted; run `cargo xtask status`, then try again"
            ),
            other => Ok(other?),
        }
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

/// A published version on its way to green (its Description names the publication the
/// verification is recorded for), and whether green is pinned on it (rollback).
#[derive(Clone, Copy)]
pub struct Candidate<'a> {
    pub version: u64,
    pub record: &'a VersionRecord,
    pub description: &'a str,
    pub pin: bool,
}

/// Where `build` and a deploy that builds write the image.
pub fn default_image_dir() -> PathBuf {
    crate::setup::target_dir().join("image")
}

/// NotFound as `None`; every other error stays an error (with what to do, for the verbs).
pub fn absent_as_none<T>(result: CloudResult<T>) -> Result<Option<T>> {
    Ok(crate::cloud::absent_as_none(result)?)
}

/// The expectation for a version verified through `alias`.
pub fn expect(version: u64, alias: &str, record: &VersionRecord) -> Expect {
    Expect {
        version,
        alias: alias.into(),
        git_sha: record.git_sha.clone(),
        build_id: record.build_id.clone(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::Instant;

    use super::Ctx;
    use crate::{
        cloud::{Alias, AliasTarget, guards},
        config::Config,
        progress::Progress,
        verify::Prober,
    };

    #[tokio::test]
    async fn promote_stops_when_green_moved_since_preflight_smithy_mock() {
        let ctx = Ctx {
            cloud: guards::green_moved_by_someone_else(),
            config: Config::load().unwrap(),
            account: "123456789012".into(),
            local_gateway: None,
            function_log: None,
            progress: Progress::default(),
            prober: Prober::default(),
            deadline: Instant::now() + Duration::from_secs(60),
            green_attempt: Default::default(),
        };
        let green = Alias {
            name: "green".into(),
            target: AliasTarget::version("6"),
            description: String::new(),
            revision_id: Some("read-in-preflight".into()),
        };
        let err = ctx.promote(&green, 7, false).await.unwrap_err();
        assert!(err.to_string().contains("green moved"), "{err:#}");
        assert!(err.to_string().contains("nothing was promoted"), "{err:#}");
    }
}
