//! `prune`'s operations in the in-memory AWS (`Pruning`): DeleteFunction of a published version
//! under `bgd_rules::lambda::delete_version`, BatchDeleteImage of one image with its tags, and
//! the repository's lifecycle policy. The oracle hears of every deletion here.
use std::collections::BTreeMap;

use super::{
    actor::Role,
    aws::{error, invalid, not_found},
    cloud::SimCloud,
    world::World,
};
use bgd_core::{
    cloud::{CloudResult, ErrorKind, Operation, Pruning},
    ledger::Promotion,
    pipeline::{BLUE, GREEN},
};
use bgd_rules::lambda::{Deletion, delete_version};

impl Pruning for SimCloud {
    async fn delete_version(&self, function: &str, version: &str) -> CloudResult<()> {
        let op = Operation::DeleteFunction;
        self.cloud(op, &format!("{function}:{version}"), |w, actor| {
            let needed = w.needed(&self.role);
            let aliases: BTreeMap<String, Vec<String>> = w
                .lambda
                .aliases
                .keys()
                .map(|name| (name.clone(), w.routes_of(name)))
                .collect();
            let (f, _) = w
                .lambda
                .function
                .as_mut()
                .ok_or_else(|| not_found(op, function))?;
            delete_version(f, version, &aliases).map_err(|refusal| match refusal {
                Deletion::Latest => invalid(op, version, refusal.message()),
                Deletion::Aliased(_) => error(ErrorKind::Conflict, op, version, &refusal.message()),
            })?;
            if let Ok(number) = version.parse() {
                w.lambda.versions.remove(&number);
            }
            if let Some((_, why)) = needed.iter().find(|(v, _)| v == version) {
                w.oracle
                    .fail(format!("actor {actor} deleted version {version}, {why}"));
            }
            Ok(())
        })
        .await
    }

    async fn delete_image(&self, repository: &str, digest: &str) -> CloudResult<()> {
        let op = Operation::BatchDeleteImage;
        self.cloud(op, &digest[..digest.len().min(19)], |w, actor| {
            if !w.images.holds(repository) {
                return Err(not_found(op, repository));
            }
            let needed = w.needed(&self.role);
            if let Some((v, why)) = needed
                .iter()
                .find(|(v, _)| w.image_of(v).as_deref() == Some(digest))
            {
                w.oracle.fail(format!(
                    "actor {actor} deleted the image of version {v}, {why}"
                ));
            }
            w.images.delete(digest);
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

impl World {
    /// The versions `prune` (as `role`, with its `--keep`) must leave, and why, by what the
    /// world holds: every version an alias routes to, the pin and the rollback target green's
    /// record names, and the `keep` newest that blue verified and whose verification is
    /// recorded.
    fn needed(&self, role: &Role) -> Vec<(String, String)> {
        let keep = match role {
            Role::Prune { keep } => *keep,
            _ => 0,
        };
        let mut needed = Vec::new();
        for alias in [GREEN, BLUE] {
            for version in self.routes_of(alias) {
                needed.push((version, format!("which alias {alias} routes to")));
            }
        }
        let record = self.lambda.aliases.get(GREEN);
        if let Some(promotion) = record.and_then(|a| Promotion::parse(&a.description).ok()) {
            if promotion.pinned {
                needed.push((promotion.version.to_string(), "the rollback's pin".into()));
            }
            if let Some(from) = promotion.from {
                needed.push((from.to_string(), "a plain rollback's target".into()));
            }
        }
        let verified = self
            .lambda
            .versions
            .keys()
            .rev()
            .map(u64::to_string)
            .filter(|v| {
                let tag = format!("verified-{v}-");
                self.oracle.verified_versions.contains(v)
                    && self.images.tags.keys().any(|t| t.starts_with(&tag))
            })
            .take(keep);
        for version in verified {
            needed.push((
                version,
                format!("one of the {keep} newest verified (--keep {keep})"),
            ));
        }
        needed
    }
}
