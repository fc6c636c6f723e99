//! The image registry the pipeline uses, as a trait: push, look up, tag. `bgd-aws`'s
//! `OciRegistry` implements it over the OCI distribution API (ECR and the local registry
//! alike), the simulation in memory (which keeps digests, not bytes: it cannot [`Pull`]).
use std::future::Future;

use anyhow::Result;

use super::Image;

/// Every registry operation the pipeline performs. Writes: `push` and `tag`.
pub trait Registry: Send + Sync {
    /// Pushes what is missing of the image and tags it with each of `tags` (at least one: an
    /// untagged image is invisible to tag listings and to untagged-image lifecycle rules).
    /// Returns the manifest digest.
    fn push(
        &self,
        repository: &str,
        image: &Image,
        tags: &[&str],
    ) -> impl Future<Output = Result<String>> + Send;
    /// The manifest digest `repository@DIGEST` or `repository:TAG` names, `None` when absent.
    fn digest_of(
        &self,
        repository: &str,
        digest_or_tag: &str,
    ) -> impl Future<Output = Result<Option<String>>> + Send;
    /// Adds `tag` to an image already in the repository (e.g. `verified-7`).
    fn tag(
        &self,
        repository: &str,
        digest: &str,
        tag: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Whether `repository@DIGEST` or `repository:TAG` exists (`HEAD /v2/REPO/manifests/REF`).
    fn has_manifest(
        &self,
        repository: &str,
        digest_or_tag: &str,
    ) -> impl Future<Output = Result<bool>> + Send {
        async move { Ok(self.digest_of(repository, digest_or_tag).await?.is_some()) }
    }
}

/// Reads an image back, byte for byte: how a promotion takes the image another environment
/// verified (`deploy --from`).
pub trait Pull: Registry {
    /// `repository@digest`'s manifest and blobs, each checked against its digest.
    fn pull(&self, repository: &str, digest: &str) -> impl Future<Output = Result<Image>> + Send;
}
