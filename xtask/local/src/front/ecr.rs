//! ECR as the front answers it: the registry endpoint is the local registry, and the deletes
//! moto cannot do (it keeps no images) are done in the registry itself.
use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use axum::{
    body::Bytes,
    http::{HeaderMap, HeaderValue, StatusCode},
};
use serde_json::{Value, json};

use super::{Answer, Call, Front, refuse};

impl Front {
    /// ECR's DeleteRepository (with `force`) deletes the repository's images with it; moto
    /// keeps no images, so the front deletes every manifest (and with it every tag) the
    /// local registry holds for it. Nothing of a destroyed stack may pass for a later one's.
    pub(super) async fn delete_repository(&self, call: &Call) -> Answer {
        let answer = self.forward(call).await;
        if !answer.status.is_success() {
            return answer;
        }
        let name = serde_json::from_slice::<Value>(&call.body)
            .ok()
            .and_then(|body| body["repositoryName"].as_str().map(str::to_owned));
        if let Some(name) = name
            && let Err(e) = self
                .delete_images(&self.registry_path(&call.account, &call.region, &name))
                .await
        {
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ServerException",
                &format!("deleting the images of {name} from the local registry: {e:#}"),
            );
        }
        answer
    }

    async fn delete_images(&self, repository: &str) -> Result<()> {
        let digests: BTreeSet<String> = self.tagged(repository).await?.into_values().collect();
        for digest in digests {
            self.delete_manifest(repository, &digest).await?;
        }
        Ok(())
    }

    fn repository_url(&self, repository: &str) -> String {
        format!(
            "{}/v2/{repository}",
            self.registry_url.trim_end_matches('/')
        )
    }

    /// Every tag of the repository in the local registry, and the digest it names.
    async fn tagged(&self, repository: &str) -> Result<BTreeMap<String, String>> {
        let base = self.repository_url(repository);
        let tags: Value = match self.http.get(format!("{base}/tags/list")).send().await? {
            r if r.status() == StatusCode::NOT_FOUND => return Ok(BTreeMap::new()),
            r => r.error_for_status()?.json().await?,
        };
        let mut tagged = BTreeMap::new();
        for tag in tags["tags"].as_array().into_iter().flatten() {
            let Some(tag) = tag.as_str() else { continue };
            if let Some((digest, _)) = self.manifest(repository, tag).await? {
                tagged.insert(tag.to_owned(), digest);
            }
        }
        Ok(tagged)
    }

    /// The manifest `reference` (a digest or a tag) names: its digest and its JSON; `None`
    /// when the registry holds none.
    async fn manifest(&self, repository: &str, reference: &str) -> Result<Option<(String, Value)>> {
        let url = format!("{}/manifests/{reference}", self.repository_url(repository));
        let got = self
            .http
            .get(url)
            .header("accept", super::MANIFEST_TYPES)
            .send()
            .await?;
        if got.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let got = got.error_for_status()?;
        let digest = match got.headers().get("docker-content-digest") {
            Some(digest) => digest.to_str()?.to_owned(),
            None => reference.to_owned(),
        };
        Ok(Some((digest, got.json().await?)))
    }

    /// ECR's DescribeImages: the images live in the local registry, not in moto (which
    /// answered ImageNotFoundException for every image, pushed or not). Each image named by
    /// digest or tag (every tagged one when none is named) is answered from the registry: its
    /// digest, the tags naming it, its manifest's media type and its size (its layers'
    /// compressed bytes: API_ImageDetail); one the registry lacks is ImageNotFoundException
    /// (HTTP 400, API_DescribeImages). No `imagePushedAt`: the registry keeps no push times.
    pub(super) async fn describe_images(&self, call: &Call) -> Answer {
        let body: Value = serde_json::from_slice(&call.body).unwrap_or_default();
        let repository = body["repositoryName"].as_str().unwrap_or_default();
        let path = self.registry_path(&call.account, &call.region, repository);
        let described = async {
            let tagged = self.tagged(&path).await?;
            let wanted: Vec<String> = match body["imageIds"].as_array() {
                Some(ids) => ids
                    .iter()
                    .filter_map(|id| id["imageDigest"].as_str().or(id["imageTag"].as_str()))
                    .map(str::to_owned)
                    .collect(),
                None => tagged
                    .values()
                    .cloned()
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
            };
            let mut details = Vec::new();
            for reference in &wanted {
                let Some((digest, manifest)) = self.manifest(&path, reference).await? else {
                    return Ok(Err(reference.clone()));
                };
                let tags: Vec<&String> = tagged
                    .iter()
                    .filter(|(_, d)| **d == digest)
                    .map(|(tag, _)| tag)
                    .collect();
                let size: u64 = manifest["layers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|layer| layer["size"].as_u64())
                    .sum();
                details.push(json!({
                    "registryId": body["registryId"].as_str().unwrap_or(&call.account),
                    "repositoryName": repository, "imageDigest": digest, "imageTags": tags,
                    "imageSizeInBytes": size, "imageManifestMediaType": manifest["mediaType"],
                    "artifactMediaType": manifest["config"]["mediaType"],
                }));
            }
            anyhow::Ok(Ok(details))
        };
        let moto = self.forward(call).await;
        let missing_repository = moto.json()["__type"]
            .as_str()
            .is_some_and(|code| code.ends_with("RepositoryNotFoundException"));
        if missing_repository {
            return moto;
        }
        match described.await {
            Ok(Ok(details)) => ecr_answer(&json!({ "imageDetails": details })),
            Ok(Err(reference)) => refuse(
                StatusCode::BAD_REQUEST,
                "ImageNotFoundException",
                &format!(
                    "The image with imageId {reference} does not exist within the repository with name '{repository}'"
                ),
            ),
            Err(e) => refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ServerException",
                &format!("reading {repository} in the local registry: {e:#}"),
            ),
        }
    }

    /// Deletes one manifest (and every tag naming it) from the local registry; `false` when
    /// it was already gone.
    async fn delete_manifest(&self, repository: &str, digest: &str) -> Result<bool> {
        let url = format!("{}/manifests/{digest}", self.repository_url(repository));
        let deleted = self.http.delete(url).send().await?;
        if deleted.status() == StatusCode::NOT_FOUND {
            return Ok(false);
        }
        deleted.error_for_status()?;
        Ok(true)
    }

    /// ECR's BatchDeleteImage: the images live in the local registry, not in moto, so the
    /// front deletes them there and answers as ECR does: `imageIds` deleted, and an image
    /// already gone a failure (`ImageNotFound`, API_ImageFailure), not a deletion. By tag, ECR
    /// removes the tag and the image with its last tag (AWS's documented example
    /// batchdeleteimages-example-1470860541707 answers the digest beside the tag); the local
    /// registry (distribution 2.8) removes no tag alone, so a tag of an image with others is
    /// refused rather than deleting them all.
    pub(super) async fn batch_delete_image(&self, call: &Call) -> Answer {
        let body: Value = serde_json::from_slice(&call.body).unwrap_or_default();
        let repository = body["repositoryName"].as_str().unwrap_or_default();
        let ids = body["imageIds"].as_array().cloned().unwrap_or_default();
        let path = self.registry_path(&call.account, &call.region, repository);
        let (mut deleted, mut failures) = (Vec::new(), Vec::new());
        let done = async {
            let tagged = self.tagged(&path).await?;
            for id in &ids {
                let tag = id["imageTag"].as_str();
                let digest = match (id["imageDigest"].as_str(), tag) {
                    (Some(digest), _) => Some(digest.to_owned()),
                    (None, Some(tag)) => tagged.get(tag).cloned(),
                    (None, None) => continue,
                };
                let others = tagged
                    .iter()
                    .filter(|(t, d)| Some(*d) == digest.as_ref() && Some(t.as_str()) != tag);
                if tag.is_some() && others.count() > 0 {
                    anyhow::bail!(
                        "the local registry cannot remove one tag of an image that has others"
                    );
                }
                match digest {
                    Some(digest) if self.delete_manifest(&path, &digest).await? => {
                        deleted.push(bgd_rules::ecr::deleted(&digest, tag));
                    }
                    _ => failures.push(bgd_rules::ecr::not_found(id)),
                }
            }
            anyhow::Ok(())
        };
        if let Err(e) = done.await {
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ServerException",
                &format!("deleting images of {repository} in the local registry: {e:#}"),
            );
        }
        ecr_answer(&json!({ "imageIds": deleted, "failures": failures }))
    }
}

/// A 200 from ECR (AWS JSON 1.1).
pub(super) fn ecr_answer(body: &Value) -> Answer {
    let mut headers = HeaderMap::new();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    Answer {
        status: StatusCode::OK,
        headers,
        body: Bytes::from(body.to_string()),
    }
}

/// `AmazonEC2ContainerRegistry_V20150921.ACTION` → ACTION.
pub(super) fn ecr_action(call: &Call) -> Option<&str> {
    call.headers
        .get("x-amz-target")?
        .to_str()
        .ok()?
        .rsplit_once('.')
        .map(|(_, action)| action)
}
