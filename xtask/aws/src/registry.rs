//! The image registry over the OCI distribution API ([`OciRegistry`], `bgd-core`'s `Registry`),
//! for ECR and the local registry alike: push blobs and the manifest exactly as built (so the
//! digest is known in advance), check a manifest exists, add tags.
use anyhow::{Context, Result};
use oci_client::{
    Client, Reference,
    client::{ClientConfig, ClientProtocol},
    errors::{OciDistributionError, OciErrorCode},
    secrets::RegistryAuth,
};
use reqwest::header::HeaderValue;

use bgd_core::{
    image::{Image, MANIFEST_MEDIA_TYPE, Pull, Registry, sha256_digest},
    secret::Secret,
};

use crate::WriteMeter;

/// The registry over the OCI distribution API; its writes (blob uploads, manifest puts) are
/// counted on the [`WriteMeter`] it is given, beside the cloud's.
pub struct OciRegistry {
    /// `host[:port]`, as image references name it.
    host: String,
    auth: RegistryAuth,
    client: Client,
    writes: WriteMeter,
}

impl OciRegistry {
    /// `endpoint` is `https://ACCOUNT.dkr.ecr.REGION.amazonaws.com` (ECR's proxy endpoint) or
    /// `http://127.0.0.1:PORT` (the local registry); plain HTTP only when the URL says so.
    pub fn new(endpoint: &str, basic: Option<(String, Secret)>) -> Result<Self> {
        let (protocol, host) = match endpoint.split_once("://") {
            Some(("http", host)) => (ClientProtocol::Http, host),
            Some(("https", host)) => (ClientProtocol::Https, host),
            _ => {
                anyhow::bail!("registry endpoint {endpoint:?} must start with http:// or https://")
            }
        };
        let host = host.trim_end_matches('/').to_owned();
        let auth = match basic {
            Some((user, password)) => RegistryAuth::Basic(user, password.expose().to_owned()),
            None => RegistryAuth::Anonymous,
        };
        bgd_tls::install();
        let client = Client::new(ClientConfig {
            protocol,
            // One PUT per blob. Chunked, ECR answers each PATCH with 201 where oci-client
            // expects 202 and uploads the blob again, and wants parts of at least 5 MiB
            // (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_UploadLayerPart.html).
            use_monolithic_push: true,
            ..Default::default()
        });
        Ok(Self {
            host,
            auth,
            client,
            writes: WriteMeter::default(),
        })
    }

    /// Counts this registry's writes on `writes` (the cloud's meter, so a run's figure is one).
    pub fn metered(self, writes: WriteMeter) -> Self {
        Self { writes, ..self }
    }

    /// Puts `manifest` under `tag`, unless the tag already names it: a repository whose tags
    /// are IMMUTABLE refuses a tag that exists (ImageTagAlreadyExistsException,
    /// <https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html>), so
    /// a re-run that pushes the same image under the same tag writes nothing and works there
    /// too (aws-audit-3 #21).
    async fn put_manifest(&self, repository: &str, manifest: &[u8], tag: &str) -> Result<()> {
        if self.digest_of(repository, tag).await?.as_deref() == Some(&sha256_digest(manifest)) {
            return Ok(());
        }
        let reference = Reference::with_tag(self.host.clone(), repository.into(), tag.into());
        self.writes.add();
        self.client
            .push_manifest_raw(
                &reference,
                manifest.to_vec(),
                HeaderValue::from_static(MANIFEST_MEDIA_TYPE),
            )
            .await
            .with_context(|| format!("pushing the manifest to {}/{repository}:{tag}", self.host))?;
        Ok(())
    }
}

impl Registry for OciRegistry {
    async fn push(&self, repository: &str, image: &Image, tags: &[&str]) -> Result<String> {
        let first = tags
            .first()
            .context("an image is pushed with at least one tag")?;
        let reference = Reference::with_tag(self.host.clone(), repository.into(), (*first).into());
        self.client
            .store_auth_if_needed(reference.resolve_registry(), &self.auth)
            .await;
        for blob in [&image.layer, &image.config] {
            let digest = sha256_digest(blob);
            let exists = self
                .client
                .blob_exists(&reference, &digest)
                .await
                .with_context(|| format!("asking {} for blob {digest}", self.host))?;
            if !exists {
                self.writes.add();
                self.client
                    .push_blob(&reference, blob.clone(), &digest)
                    .await
                    .with_context(|| {
                        format!("pushing blob {digest} to {}/{repository}", self.host)
                    })?;
            }
        }
        for tag in tags {
            self.put_manifest(repository, &image.manifest, tag).await?;
        }
        Ok(image.digest())
    }

    async fn digest_of(&self, repository: &str, digest_or_tag: &str) -> Result<Option<String>> {
        let reference = if digest_or_tag.starts_with("sha256:") {
            Reference::with_digest(self.host.clone(), repository.into(), digest_or_tag.into())
        } else {
            Reference::with_tag(self.host.clone(), repository.into(), digest_or_tag.into())
        };
        match self
            .client
            .fetch_manifest_digest(&reference, &self.auth)
            .await
        {
            Ok(digest) => Ok(Some(digest)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e)
                .with_context(|| format!("asking {} for {repository}:{digest_or_tag}", self.host)),
        }
    }

    async fn tag(&self, repository: &str, digest: &str, tag: &str) -> Result<()> {
        let reference = Reference::with_digest(self.host.clone(), repository.into(), digest.into());
        let (manifest, _) = self
            .client
            .pull_manifest_raw(&reference, &self.auth, &[MANIFEST_MEDIA_TYPE])
            .await
            .with_context(|| format!("reading {repository}@{digest} to tag it {tag}"))?;
        self.put_manifest(repository, &manifest, tag).await
    }
}

impl Pull for OciRegistry {
    async fn pull(&self, repository: &str, digest: &str) -> Result<Image> {
        let reference = Reference::with_digest(self.host.clone(), repository.into(), digest.into());
        let (manifest, _) = self
            .client
            .pull_manifest_raw(&reference, &self.auth, &[MANIFEST_MEDIA_TYPE])
            .await
            .with_context(|| format!("reading {}/{repository}@{digest}", self.host))?;
        let blob = |wanted: &str| {
            let reference = &reference;
            let wanted = wanted.to_owned();
            async move {
                let mut bytes = Vec::new();
                self.client
                    .pull_blob(reference, wanted.as_str(), &mut bytes)
                    .await
                    .with_context(|| format!("reading blob {wanted} of {repository}"))?;
                anyhow::ensure!(
                    sha256_digest(&bytes) == wanted,
                    "blob {wanted} of {repository} does not match its digest"
                );
                Ok(bytes)
            }
        };
        anyhow::ensure!(
            sha256_digest(&manifest) == digest,
            "the manifest of {repository}@{digest} does not match its digest"
        );
        let parsed: serde_json::Value = serde_json::from_slice(&manifest)?;
        let descriptor = |value: &serde_json::Value| {
            value["digest"]
                .as_str()
                .map(str::to_owned)
                .context("a descriptor without a digest")
        };
        let [layer] = parsed["layers"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        else {
            anyhow::bail!("{repository}@{digest} is not a bgd image (one layer)");
        };
        Ok(Image {
            config: blob(&descriptor(&parsed["config"])?).await?,
            layer: blob(&descriptor(layer)?).await?,
            manifest: manifest.to_vec(),
        })
    }
}

/// A 404 arrives as an OCI error envelope or, from some registries, as a bare status.
fn is_not_found(error: &OciDistributionError) -> bool {
    match error {
        OciDistributionError::ImageManifestNotFoundError(_) => true,
        OciDistributionError::ServerError { code, .. } => *code == 404,
        OciDistributionError::RegistryError { envelope, .. } => envelope.errors.iter().any(|e| {
            matches!(
                e.code,
                OciErrorCode::ManifestUnknown | OciErrorCode::NameUnknown
            )
        }),
        _ => false,
    }
}
