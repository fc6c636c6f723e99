//! [`Pruning`] in the in-memory AWS: DeleteFunction of a version by `bgd_rules::lambda`, as the
//! front applies it (refused while an alias routes to it, nothing to do for one that does not
//! exist, its number never handed out again: the world numbers on from its own counter), and
//! the repository's images and lifecycle policy. No actor prunes yet; the conformance suite
//! holds these answers to AWS's recordings.
use std::collections::BTreeMap;

use super::{
    aws::{error, invalid, not_found},
    cloud::SimCloud,
};
use bgd_core::cloud::{CloudResult, ErrorKind, Operation, Pruning};
use bgd_rules::lambda::Deletion;

impl Pruning for SimCloud {
    async fn delete_version(&self, function: &str, version: &str) -> CloudResult<()> {
        let op = Operation::DeleteFunction;
        self.cloud(op, &format!("{function}:{version}"), |w, _| {
            let routes: BTreeMap<String, Vec<String>> = w
                .lambda
                .aliases
                .iter()
                .map(|(name, alias)| {
                    let extra = alias.weights.keys().cloned();
                    let routes = std::iter::once(alias.target.clone()).chain(extra).collect();
                    (name.clone(), routes)
                })
                .collect();
            let (f, _) = w
                .lambda
                .function
                .as_mut()
                .ok_or_else(|| not_found(op, function))?;
            match bgd_rules::lambda::delete_version(f, version, &routes) {
                Err(refusal @ Deletion::Latest) => Err(invalid(op, version, refusal.message())),
                Err(refusal) => Err(error(ErrorKind::Conflict, op, version, &refusal.message())),
                Ok(()) => {
                    if let Ok(number) = version.parse() {
                        w.lambda.versions.remove(&number);
                    }
                    Ok(())
                }
            }
        })
        .await
    }

    async fn delete_image(&self, repository: &str, digest: &str) -> CloudResult<()> {
        let op = Operation::BatchDeleteImage;
        self.cloud(op, &format!("{repository}@{digest}"), |w, _| {
            w.images.manifests.remove(digest);
            w.images.tags.retain(|_, tagged| tagged != digest);
            Ok(())
        })
        .await
    }

    async fn lifecycle_policy(&self, repository: &str) -> CloudResult<Option<String>> {
        let op = Operation::GetLifecyclePolicy;
        self.cloud(op, repository, |w, _| Ok(w.images.lifecycle.clone()))
            .await
    }

    async fn put_lifecycle_policy(&self, repository: &str, policy: &str) -> CloudResult<()> {
        let op = Operation::PutLifecyclePolicy;
        self.cloud(op, repository, |w, _| {
            w.images.lifecycle = Some(policy.to_owned());
            Ok(())
        })
        .await
    }
}
