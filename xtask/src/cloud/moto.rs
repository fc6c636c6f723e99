//! The moto adapter: every quirk of moto 5.2.5 (no-Docker Lambda mode) that the tooling has to
//! work around is handled here, named, and nowhere else. Measured against the real moto:
//!
//! - QUIRK code-sha256-of-uri: an image function's CodeSha256 is the sha256 of the ImageUri
//!   *string*, not the image's manifest digest. [`Moto::code_sha256`] computes what moto expects.
//! - QUIRK version-image-follows-latest: a published version's `Code.ImageUri` reports
//!   `$LATEST`'s URI, and `ResolvedImageUri` arrives as `REPO@sha256@sha256:<CodeSha256>`, so
//!   neither says which image a version runs. [`Moto::image_of`] maps the CodeSha256 back to the
//!   image whose URI hashes to it; candidates come from the local registry's repositories and
//!   tags, which is why every pushed image must be tagged and deployed as `REPO@sha256:DIGEST`.
//! - QUIRK no-registry: moto's ECR serves no registry API, and GetAuthorizationToken names an
//!   `https://ACCT.dkr.ecr...` endpoint nobody answers. The local registry stands in for it:
//!   [`Moto::registry_access`] points pushes and pulls there, plain HTTP, anonymous.
//! - QUIRK guards-ignored: RevisionId is absent on functions and never changes on aliases;
//!   CodeSha256 and RevisionId guards are accepted whatever they say. For aliases (green's
//!   guarded promotion, which keeps a rollback and a deploy from overwriting each other) the
//!   adapter stands in: [`Moto::alias_revision`] derives a RevisionId from what the alias
//!   holds, and a guarded UpdateAlias first re-reads and compares it. That is check-then-write
//!   (one round trip of window) where AWS is atomic; the atomic guard is tested against a fake.
//! - QUIRK get-alias-201: GetAlias answers 201 instead of 200; the SDK takes any 2xx, checked.
//! - QUIRK alias-config-is-version: GetFunction by alias answers with the version's ARN, which
//!   is what [`super::Functions::get_version`] promises anyway.
use std::{collections::HashMap, sync::Mutex};

use anyhow::{Context, Result};
use oci_client::{
    Client, Reference,
    client::{ClientConfig, ClientProtocol},
    secrets::RegistryAuth,
};
use sha2::{Digest, Sha256};

use super::{Alias, ImageRef, RegistryAccess};

pub(super) struct Moto {
    registry: RegistryAccess,
    client: Client,
    /// CodeSha256 → image, learned from the registry (digests never change meaning).
    known: Mutex<HashMap<String, ImageRef>>,
}

impl Moto {
    pub(super) fn new(registry_url: &str) -> Result<Self> {
        let host = registry_url
            .strip_prefix("http://")
            .with_context(|| {
                format!("the local registry URL {registry_url} must start with http:// (set LOCAL_REGISTRY_URL)")
            })?
            .trim_end_matches('/')
            .to_owned();
        Ok(Self {
            registry: RegistryAccess {
                host,
                plain_http: true,
                basic: None,
            },
            client: Client::new(ClientConfig {
                protocol: ClientProtocol::Http,
                ..ClientConfig::default()
            }),
            known: Mutex::default(),
        })
    }

    /// QUIRK no-registry: the local registry answers for ECR.
    pub(super) fn registry_access(&self) -> RegistryAccess {
        self.registry.clone()
    }

    /// QUIRK guards-ignored: a RevisionId that changes whenever the alias's target or
    /// Description does (moto's never changes).
    pub(super) fn alias_revision(alias: &Alias) -> String {
        let mut hash = Sha256::new();
        hash.update(alias.target.version.as_bytes());
        for (version, weight) in &alias.target.additional_weights {
            hash.update(format!("\0{version}={weight}").as_bytes());
        }
        hash.update(b"\0");
        hash.update(alias.description.as_bytes());
        format!("moto-{}", &hex::encode(hash.finalize())[..16])
    }

    /// QUIRK code-sha256-of-uri: the CodeSha256 moto reports for a function running `image`.
    pub(super) fn code_sha256(&self, image: &ImageRef) -> String {
        hex::encode(Sha256::digest(image.uri().as_bytes()))
    }

    /// QUIRK version-image-follows-latest: the image whose URI hashes to `code_sha256`.
    /// `latest_uri` (what moto reports for every version: `$LATEST`'s URI) is tried first and
    /// names the registry host the candidates live under.
    pub(super) async fn image_of(
        &self,
        code_sha256: &str,
        latest_uri: Option<&str>,
    ) -> Option<ImageRef> {
        let latest = latest_uri.and_then(ImageRef::parse)?;
        if self.code_sha256(&latest) == code_sha256 {
            return Some(latest);
        }
        if let Some(image) = self.known.lock().expect("lock").get(code_sha256) {
            return Some(image.clone());
        }
        let found = self.registry_images(&latest.registry).await;
        let mut known = self.known.lock().expect("lock");
        for image in found {
            known.insert(self.code_sha256(&image), image);
        }
        known.get(code_sha256).cloned()
    }

    /// Every tagged image in the local registry, named as Lambda knows them (`ecr_host/repo`).
    async fn registry_images(&self, ecr_host: &str) -> Vec<ImageRef> {
        let auth = RegistryAuth::Anonymous;
        let host = &self.registry.host;
        let root = Reference::with_tag(host.clone(), "library/none".into(), "latest".into());
        let Ok(catalog) = self.client.catalog(&root, &auth, Some(1000), None).await else {
            return Vec::new();
        };
        let mut images = Vec::new();
        for repository in catalog.repositories {
            let any = Reference::with_tag(host.clone(), repository.clone(), "latest".into());
            let Ok(tags) = self.client.list_tags(&any, &auth, Some(1000), None).await else {
                continue;
            };
            for tag in tags.tags {
                let tagged = Reference::with_tag(host.clone(), repository.clone(), tag);
                if let Ok(digest) = self.client.fetch_manifest_digest(&tagged, &auth).await {
                    images.push(ImageRef {
                        registry: ecr_host.to_owned(),
                        repository: repository.clone(),
                        digest,
                    });
                }
            }
        }
        images
    }
}
