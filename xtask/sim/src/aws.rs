//! The in-memory AWS: the account (STS, ECR, IAM) as the pipeline's `Account` names it, the
//! image registry, and the errors every part answers with (Lambda is `lambda.rs`, API Gateway
//! `gateway.rs`; ECR's and IAM's other calls `ecr.rs` and `iam.rs`).
use anyhow::Result;

use super::{
    cloud::SimCloud,
    world::{ACCOUNT, REGISTRY_HOST, World},
};
use bgd_core::{
    cloud::{
        Account, CloudError, CloudResult, ErrorKind, LAMBDA_TRUST_POLICY, Operation, ROLE_POLICY,
        RegistryAccess, Repository, with_lambda_pull,
    },
    image::{Image, Registry},
};
use bgd_rules::lambda::{Answered, Refusal};

pub(super) fn error(
    kind: ErrorKind,
    operation: Operation,
    subject: &str,
    detail: &str,
) -> CloudError {
    CloudError::new(kind, operation, subject, detail.to_owned())
}

pub(super) fn not_found(operation: Operation, subject: &str) -> CloudError {
    error(
        ErrorKind::NotFound,
        operation,
        subject,
        "ResourceNotFoundException",
    )
}

pub(super) fn refused(refusal: &Refusal, operation: Operation, subject: &str) -> CloudError {
    let kind = match refusal.answered() {
        Answered::Conflict => ErrorKind::Conflict,
        Answered::PreconditionFailed => ErrorKind::PreconditionFailed,
        Answered::InvalidParameter => ErrorKind::Other,
    };
    error(kind, operation, subject, &refusal.message(subject))
}

pub(super) fn invalid(operation: Operation, subject: &str, why: String) -> CloudError {
    error(ErrorKind::Other, operation, subject, &why)
}

/// An AWS error as the wire carries it, from the operations the pipeline's traits do not name
/// (the conformance suite's alone), whose errors need no `CloudError` kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refused {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl Refused {
    pub(super) fn new(status: u16, code: &'static str, message: String) -> Self {
        Self {
            status,
            code,
            message,
        }
    }
}

fn repository(w: &World, operation: Operation, name: &str) -> CloudResult<Repository> {
    if w.images.holds(name) {
        Ok(Repository {
            name: name.into(),
            uri: format!("{REGISTRY_HOST}/{name}"),
        })
    } else {
        Err(not_found(operation, name))
    }
}

impl Account for SimCloud {
    async fn account_id(&self) -> CloudResult<String> {
        self.cloud(Operation::GetCallerIdentity, "", |_, _| Ok(ACCOUNT.into()))
            .await
    }

    async fn ensure_repository(&self, name: &str) -> CloudResult<Repository> {
        let op = Operation::CreateRepository;
        self.cloud(op, name, |w, _| {
            w.images.repository.get_or_insert_with(|| name.to_owned());
            repository(w, op, name)
        })
        .await
    }

    async fn repository(&self, name: &str) -> CloudResult<Repository> {
        let op = Operation::DescribeRepositories;
        self.cloud(op, name, |w, _| repository(w, op, name)).await
    }

    async fn allow_lambda_pull(&self, repository: &str, function_arn: &str) -> CloudResult<()> {
        let op = Operation::SetRepositoryPolicy;
        self.cloud(op, repository, |w, _| {
            self::repository(w, op, repository)?;
            let existing = w
                .images
                .policy
                .as_deref()
                .and_then(|p| serde_json::from_str(p).ok());
            w.images.policy = Some(with_lambda_pull(existing, function_arn).to_string());
            Ok(())
        })
        .await
    }

    async fn registry_access(&self) -> CloudResult<RegistryAccess> {
        self.cloud(Operation::GetAuthorizationToken, "", |_, _| {
            Ok(RegistryAccess {
                host: REGISTRY_HOST.into(),
                plain_http: true,
                basic: None,
            })
        })
        .await
    }

    async fn ensure_function_role(&self, name: &str, policy: &str) -> CloudResult<String> {
        self.cloud(Operation::CreateRole, name, |w, _| {
            // GetRole, then CreateRole when missing (one that exists is kept as it is), then
            // its policy when it has none.
            w.create_role(name, LAMBDA_TRUST_POLICY).ok();
            let role = w
                .roles
                .get_mut(name)
                .ok_or_else(|| not_found(Operation::GetRole, name))?;
            role.policies
                .entry(ROLE_POLICY.to_owned())
                .or_insert_with(|| policy.to_owned());
            Ok(format!("arn:aws:iam::{ACCOUNT}:role/{name}"))
        })
        .await
    }

    async fn delete_repository(&self, name: &str) -> CloudResult<()> {
        let op = Operation::DeleteRepository;
        self.cloud(op, name, |w, _| {
            repository(w, op, name)?;
            w.images = Default::default();
            Ok(())
        })
        .await
    }

    async fn delete_function_role(&self, name: &str) -> CloudResult<()> {
        let op = Operation::DeleteRole;
        self.cloud(op, name, |w, _| {
            w.roles
                .remove(name)
                .map(|_| ())
                .ok_or_else(|| not_found(op, name))
        })
        .await
    }
}

/// A tag as the trace shows it. The verification tag hashes the version's Description, which
/// holds the wall-clock time of its publication: the trace keeps `verified-N`, so a replay
/// matches byte for byte.
fn shown(tag: &str) -> &str {
    match tag.rsplit_once('-') {
        Some((kept, _)) if tag.starts_with("verified-") => kept,
        _ => tag,
    }
}

impl Registry for SimCloud {
    async fn push(&self, repository: &str, image: &Image, tags: &[&str]) -> Result<String> {
        let digest = image.digest();
        self.registry(
            format!("PUT {repository}@{}", &digest[..19]),
            true,
            |w, _| {
                if !w.images.holds(repository) {
                    return Err(format!("repository {repository} does not exist"));
                }
                w.images.manifests.insert(digest.clone());
                for tag in tags {
                    w.images.tags.insert((*tag).to_owned(), digest.clone());
                }
                Ok(digest.clone())
            },
        )
        .await
    }

    async fn digest_of(&self, repository: &str, digest_or_tag: &str) -> Result<Option<String>> {
        self.registry(
            format!("HEAD {repository}:{}", shown(digest_or_tag)),
            false,
            |w, _| {
                Ok(if digest_or_tag.starts_with("sha256:") {
                    w.images
                        .manifests
                        .contains(digest_or_tag)
                        .then(|| digest_or_tag.to_owned())
                } else {
                    w.images.tags.get(digest_or_tag).cloned()
                })
            },
        )
        .await
    }

    async fn tag(&self, repository: &str, digest: &str, tag: &str) -> Result<()> {
        self.registry(format!("PUT {repository}:{}", shown(tag)), true, |w, _| {
            if !w.images.manifests.contains(digest) {
                return Err(format!("manifest {digest} unknown"));
            }
            w.images.tags.insert(tag.to_owned(), digest.to_owned());
            Ok(())
        })
        .await
    }
}
