//! The verify phase: blue (alias and stage) must report the candidate version of this build,
//! healthy, smoke checks passing, refusing requests without the token; then the verification is
//! recorded (the image tag naming this publication) before green may move. Also the probes of
//! green after a promotion and the one rule for "verified" applied to a published version.
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::time::Instant;

use super::{BLUE, Candidate, Cloud, Ctx, GREEN, Phase};
use crate::{
    cloud::{RestApi, Version, VersionState},
    config::Smoke,
    image::Registry,
    ledger::{self, VersionRecord},
    outcome::{Exit, refuse},
    probe::{Endpoint, Expect, Failure, SelfReport},
    secret::Secret,
};

/// How long a stage may take to report the expected version after an alias moved.
const PROPAGATION: Duration = Duration::from_secs(30);
/// The first pause between polls of a version being woken.
const WAKE_POLL: Duration = Duration::from_millis(250);

impl<C: Cloud> Ctx<C> {
    /// The blue and verify phases: blue → `version`, every check, the verification recorded.
    pub(crate) async fn verify_on_blue(
        &self,
        api: &RestApi,
        token: &Secret,
        candidate: Candidate<'_>,
        (registry, repository): (&C::Registry, &str),
    ) -> Result<()> {
        let Candidate {
            version,
            record,
            description,
            ..
        } = candidate;
        self.blue_phase(version).await?;
        self.progress
            .phase(Phase::Verify, async {
                self.wake(api, token, version).await?;
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

    /// A version left idle (Inactive: a rollback's target) fails its first invocation, then
    /// is Pending while Lambda optimises its image again, for longer than a stage's
    /// propagation may take: one probe through blue wakes it, and it is waited on until
    /// Active, bounded by `--timeout` (aws-audit-3 N8: the 30 s of the checks was all it had).
    async fn wake(&self, api: &RestApi, token: &Secret, version: u64) -> Result<()> {
        let blue = Endpoint {
            url: self.stage_url(api, BLUE),
            token: Some(token.clone()),
        };
        let qualifier = version.to_string();
        let found = self.cloud.get_version(self.function(), &qualifier).await?;
        if found.state != VersionState::Inactive {
            return Ok(());
        }
        self.progress.note(format_args!(
            "version {version} is Inactive (idle): waking it through blue, then waiting until it is Active"
        ));
        let mut pause = WAKE_POLL;
        loop {
            self.prober.probe(&blue, &self.prober.paths().health).await;
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(PROPAGATION / 10);
            let found = self.cloud.get_version(self.function(), &qualifier).await?;
            match found.state {
                VersionState::Active => return Ok(()),
                VersionState::Failed => bail!(
                    "version {version} failed as Lambda woke it: see its StateReason (aws lambda get-function --function-name {} --qualifier {version})",
                    self.function()
                ),
                state if Instant::now() + pause >= self.deadline => bail!(
                    "version {version} was still {state} when --timeout passed: run again with a longer --timeout"
                ),
                _ => {}
            }
        }
    }

    /// Whether blue verified this very version, by the one rule of [`ledger::verification`]:
    /// the record, the image Lambda reports and the verification tag must agree.
    pub async fn verification(
        &self,
        registry: &C::Registry,
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
    pub(crate) async fn verify_blue(
        &self,
        api: &RestApi,
        token: &Secret,
        version: u64,
        record: &VersionRecord,
    ) -> Result<SelfReport> {
        let blue = Endpoint {
            url: self.stage_url(api, BLUE),
            token: Some(token.clone()),
        };
        self.verify(&blue, &expect(version, BLUE, record), &self.config.smoke)
            .await
    }

    /// Green reports `version` (after the alias move propagates).
    pub(crate) async fn probe_green(
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
