//! ECR's calls in the in-memory AWS that the pipeline's traits do not make one at a time
//! (CreateRepository of one that exists, the repository policy, BatchDeleteImage's failures,
//! DescribeImages), as ECR answers them: its API reference's errors, each a 400.
use serde_json::{Value, json};

use super::{
    aws::Refused,
    world::{ACCOUNT, World},
};

fn refused(code: &'static str, message: String) -> Refused {
    Refused::new(400, code, message)
}

fn no_repository(name: &str) -> Refused {
    let why = format!(
        "The repository with name '{name}' does not exist in the registry with id '{ACCOUNT}'"
    );
    refused("RepositoryNotFoundException", why)
}

/// CreateRepository: a name taken is RepositoryAlreadyExistsException. (The simulated account
/// holds one repository: the first name created is the one it keeps.)
pub(super) fn create_repository(w: &mut World, name: &str) -> Result<(), Refused> {
    if w.images.holds(name) {
        let why = format!(
            "The repository with name '{name}' already exists in the registry with id '{ACCOUNT}'"
        );
        return Err(refused("RepositoryAlreadyExistsException", why));
    }
    w.images.repository.get_or_insert_with(|| name.to_owned());
    Ok(())
}

/// SetRepositoryPolicy replaces the whole policy (aws-behaviours row 52).
pub(super) fn set_repository_policy(w: &mut World, name: &str, text: &str) -> Result<(), Refused> {
    if !w.images.holds(name) {
        return Err(no_repository(name));
    }
    w.images.policy = Some(text.to_owned());
    Ok(())
}

pub(super) fn repository_policy(w: &World, name: &str) -> Result<String, Refused> {
    if !w.images.holds(name) {
        return Err(no_repository(name));
    }
    w.images.policy.clone().ok_or_else(|| {
        let why = format!("Repository policy does not exist for the repository with name '{name}' in the registry with id '{ACCOUNT}'");
        refused("RepositoryPolicyNotFoundException", why)
    })
}

/// BatchDeleteImage, answered by `bgd_rules::ecr`. By tag, the tag goes, and the image with its
/// last tag.
pub(super) fn batch_delete_image(
    w: &mut World,
    name: &str,
    ids: &[Value],
) -> Result<Value, Refused> {
    if !w.images.holds(name) {
        return Err(no_repository(name));
    }
    let (mut deleted, mut failures) = (Vec::new(), Vec::new());
    for id in ids {
        let tag = id["imageTag"].as_str();
        let digest = match (id["imageDigest"].as_str(), tag) {
            (Some(digest), _) => Some(digest.to_owned()),
            (None, Some(tag)) => w.images.tags.remove(tag),
            (None, None) => None,
        };
        let by_tag = id["imageDigest"].is_null() && tag.is_some();
        let removed = match &digest {
            // The tag is gone; the image stays while another tag names it.
            Some(d) if by_tag && w.images.tags.values().any(|t| t == d) => true,
            Some(d) => w.images.delete(d),
            None => false,
        };
        match digest.filter(|_| removed) {
            Some(digest) => deleted.push(bgd_rules::ecr::deleted(&digest, tag)),
            None => failures.push(bgd_rules::ecr::not_found(id)),
        }
    }
    Ok(json!({ "imageIds": deleted, "failures": failures }))
}

/// DescribeImages of images named by digest or tag: each with its digest and tags; one it does
/// not hold is ImageNotFoundException.
pub(super) fn describe_images(w: &World, name: &str, ids: &[Value]) -> Result<Value, Refused> {
    if !w.images.holds(name) {
        return Err(no_repository(name));
    }
    let mut details = Vec::new();
    for id in ids {
        let digest = match (id["imageDigest"].as_str(), id["imageTag"].as_str()) {
            (Some(digest), _) => Some(digest.to_owned()).filter(|d| w.images.manifests.contains(d)),
            (None, Some(tag)) => w.images.tags.get(tag).cloned(),
            (None, None) => None,
        };
        let Some(digest) = digest else {
            let why = format!(
                "The image with imageId {id} does not exist within the repository with name '{name}' in the registry with id '{ACCOUNT}'"
            );
            return Err(refused("ImageNotFoundException", why));
        };
        let tags: Vec<&String> = w
            .images
            .tags
            .iter()
            .filter(|(_, d)| **d == digest)
            .map(|(t, _)| t)
            .collect();
        details.push(json!({
            "registryId": ACCOUNT, "repositoryName": name, "imageDigest": digest,
            "imageTags": tags,
        }));
    }
    Ok(json!({ "imageDetails": details }))
}
