//! The push phase: the image into the function's repository, tagged with its commit and as an
//! image `$LATEST` may run (the lifecycle policy keeps the newest of those). Also
//! how the pipeline reaches the registry (read-only: the repository is provision's to create).
use anyhow::{Context, Result};

use super::{Cloud, Ctx, Phase, absent_as_none};
use crate::{
    cloud::Repository,
    config::Config,
    image::{Built, Image, Registry},
    ledger,
};

impl<C: Cloud> Ctx<C> {
    /// Pushes `image` to `repository`, tagged with the build's commit (and build id) and
    /// `latest-HEX` ([`ledger::latest_image_tag`]); returns the digest the registry stored.
    pub(crate) async fn push_phase(
        &self,
        registry: &C::Registry,
        repository: &Repository,
        built: &Built,
        image: &Image,
    ) -> Result<String> {
        let tag = Config::image_tag(&built.facts.git_sha, built.facts.build_id.as_deref());
        let latest = ledger::latest_image_tag(&built.digest);
        let tags = [tag.as_str(), latest.as_str()];
        self.progress
            .phase(Phase::Push, registry.push(&repository.name, image, &tags))
            .await
    }

    /// The image registry and the function's repository in it.
    /// Reads only: the repository is provision's to create, so status, history and rollback
    /// never write, and a deploy never creates a repository Lambda may not pull from.
    pub async fn registry(&self) -> Result<(C::Registry, Repository)> {
        let name = self.config.repository_name();
        self.find_registry().await?.with_context(|| {
            format!("there is no image repository {name}: run `cargo xtask provision`")
        })
    }

    /// The registry and the function's repository, `None` when there is no repository.
    pub(crate) async fn find_registry(&self) -> Result<Option<(C::Registry, Repository)>> {
        let Some(repository) =
            absent_as_none(self.cloud.repository(self.config.repository_name()).await)?
        else {
            return Ok(None);
        };
        let access = self.cloud.registry_access().await?;
        Ok(Some((self.cloud.registry_client(access)?, repository)))
    }
}
