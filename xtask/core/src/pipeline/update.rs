//! The update phase: the function's code → the pushed image on deploy.toml's architecture, its
//! configuration → deploy.toml's settings, then version N published with its ledger record and
//! waited on until Active.
use anyhow::{Context, Result, bail};

use super::{Cloud, Ctx, Phase};
use crate::{
    cloud::{ImageRef, Settings},
    image::Built,
    ledger::VersionRecord,
};

/// A version just published: its number, its record and the Description holding it.
pub(crate) struct Published {
    pub version: u64,
    pub record: VersionRecord,
    pub description: String,
}

impl<C: Cloud> Ctx<C> {
    pub(crate) async fn update_phase(
        &self,
        built: &Built,
        image: &ImageRef,
        settings: &Settings,
    ) -> Result<Published> {
        let function = self.function();
        self.progress
            .phase(Phase::Update, async {
                let architecture = &self.config.function.architecture;
                self.retry_conflicts(|| {
                    self.cloud
                        .update_function_code(function, image, architecture)
                })
                .await?;
                let latest = self.wait_updated().await?;
                if latest.image.as_ref().map(|i| i.digest.as_str()) != Some(built.digest.as_str()) {
                    bail!(
                        "after the code update, {function} reports image {:?}, not the pushed {}: someone else updated it; run again",
                        latest.image.map(|i| i.digest),
                        built.digest
                    );
                }
                self.retry_conflicts(|| self.cloud.update_function_configuration(function, settings))
                    .await?;
                self.wait_updated().await?;
                let record = VersionRecord::now(&built.facts, &built.digest, built.origin.clone());
                let version = self
                    .publish_active(&latest.code_sha256, &record.to_description())
                    .await?;
                let number: u64 = version
                    .version
                    .parse()
                    .context("PublishVersion returned no version number")?;
                Ok(Published {
                    version: number,
                    record,
                    description: version.description,
                })
            })
            .await
    }

    /// PublishVersion of `$LATEST` (guarded by its `code_sha256`) with `description`, then the
    /// wait until the new version is Active: it is Pending at first, and blue points at it
    /// only once it is Active.
    pub(crate) async fn publish_active(
        &self,
        code_sha256: &str,
        description: &str,
    ) -> Result<crate::cloud::Version> {
        let function = self.function();
        let version = self
            .retry_conflicts(|| {
                self.cloud
                    .publish_version(function, code_sha256, description)
            })
            .await?;
        self.wait_version_active(&version.version).await?;
        Ok(version)
    }
}
