//! The in-memory AWS: API Gateway, ECR and IAM as the pipeline's traits name them, each write
//! checked by the same rules the local cloud's front applies (`crate::rules`), the image
//! registry, and the errors every part answers with (Lambda is `lambda.rs`). The oracle hears
//! of every take and removal of the lock here.
use anyhow::Result;

use super::{
    cloud::SimCloud,
    oracle::Holder,
    world::{ACCOUNT, REGISTRY_HOST, SimStage, World},
};
use bgd_core::{
    cloud::{
        Account, Apis, CloudError, CloudResult, ErrorKind, Operation, RegistryAccess, Repository,
        RestApi, Route, Stage,
    },
    image::{Image, Registry},
    pipeline::BLUE,
};
use bgd_rules::{
    self,
    lambda::{Answered, Refusal},
};

const API_ID: &str = "sim0api";

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

fn rest_api(w: &World, operation: Operation, id: &str) -> CloudResult<RestApi> {
    match &w.gateway.api {
        Some((api_id, name)) if api_id == id => Ok(RestApi {
            id: api_id.clone(),
            name: name.clone(),
            root_resource_id: "root".into(),
        }),
        _ => Err(not_found(operation, id)),
    }
}

impl Apis for SimCloud {
    async fn find_rest_api(&self, name: &str) -> CloudResult<RestApi> {
        let op = Operation::GetRestApis;
        self.cloud(op, name, |w, _| match &w.gateway.api {
            Some((id, found)) if found == name => rest_api(w, op, &id.clone()),
            _ => Err(not_found(op, name)),
        })
        .await
    }

    async fn create_rest_api(&self, name: &str) -> CloudResult<RestApi> {
        let op = Operation::CreateRestApi;
        self.cloud(op, name, |w, _| {
            w.gateway.api = Some((API_ID.into(), name.into()));
            rest_api(w, op, API_ID)
        })
        .await
    }

    async fn get_routes(&self, api_id: &str) -> CloudResult<Vec<Route>> {
        let op = Operation::GetResources;
        self.cloud(op, api_id, |w, _| {
            rest_api(w, op, api_id)?;
            Ok(w.gateway.routes.clone())
        })
        .await
    }

    async fn put_lambda_proxy_routes(&self, api: &RestApi, function_arn: &str) -> CloudResult<()> {
        let op = Operation::PutIntegration;
        self.cloud(op, &api.id, |w, _| {
            rest_api(w, op, &api.id)?;
            w.proxy_routes(function_arn);
            Ok(())
        })
        .await
    }

    async fn create_deployment(&self, api_id: &str, _description: &str) -> CloudResult<String> {
        let op = Operation::CreateDeployment;
        self.cloud(op, api_id, |w, _| {
            rest_api(w, op, api_id)?;
            w.gateway.deployments += 1;
            Ok(format!("dep-{}", w.gateway.deployments))
        })
        .await
    }

    async fn create_stage(&self, api_id: &str, stage: &Stage) -> CloudResult<Stage> {
        let op = Operation::CreateStage;
        self.cloud(op, &stage.name, |w, actor| {
            rest_api(w, op, api_id)?;
            for (name, value) in &stage.variables {
                if let Some(why) = bgd_rules::stage_variable_error(name, value) {
                    return Err(invalid(op, &stage.name, why));
                }
            }
            if w.gateway.stages.contains_key(&stage.name) {
                return Err(error(
                    ErrorKind::Conflict,
                    op,
                    &stage.name,
                    "Stage already exists",
                ));
            }
            let served_at = w.now() + w.delays.stage_ms;
            w.gateway.stages.insert(
                stage.name.clone(),
                SimStage {
                    stage: stage.clone(),
                    served_at,
                },
            );
            if stage.name == BLUE {
                w.oracle.lock_taken(Holder::Actor(actor));
            }
            Ok(stage.clone())
        })
        .await
    }

    async fn get_stage(&self, api_id: &str, name: &str) -> CloudResult<Stage> {
        let op = Operation::GetStage;
        self.cloud(op, name, |w, actor| {
            rest_api(w, op, api_id)?;
            if name == BLUE {
                w.oracle.lock_read(actor);
            }
            w.gateway
                .stages
                .get(name)
                .map(|s| s.stage.clone())
                .ok_or_else(|| not_found(op, name))
        })
        .await
    }

    async fn delete_stage(&self, api_id: &str, name: &str) -> CloudResult<()> {
        let op = Operation::DeleteStage;
        self.cloud(op, name, |w, actor| {
            rest_api(w, op, api_id)?;
            w.gateway
                .stages
                .remove(name)
                .ok_or_else(|| not_found(op, name))?;
            if name == BLUE {
                w.oracle.lock_removed(actor, self.role.break_lock());
            }
            Ok(())
        })
        .await
    }

    async fn delete_rest_api(&self, api_id: &str) -> CloudResult<()> {
        let op = Operation::DeleteRestApi;
        self.cloud(op, api_id, |w, _| {
            rest_api(w, op, api_id)?;
            // The API's stages go with it, the lock among them: `destroy` judged whose it was
            // just before (an operator's stage blue made in between is lost with the API).
            w.oracle.lock = None;
            w.gateway = Default::default();
            Ok(())
        })
        .await
    }
}

fn repository(w: &World, operation: Operation, name: &str) -> CloudResult<Repository> {
    if w.images.repository {
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
            w.images.repository = true;
            repository(w, op, name)
        })
        .await
    }

    async fn repository(&self, name: &str) -> CloudResult<Repository> {
        let op = Operation::DescribeRepositories;
        self.cloud(op, name, |w, _| repository(w, op, name)).await
    }

    async fn allow_lambda_pull(&self, repository: &str, _function_arn: &str) -> CloudResult<()> {
        self.cloud(Operation::SetRepositoryPolicy, repository, |_, _| Ok(()))
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

    async fn ensure_function_role(&self, name: &str, _policy: &str) -> CloudResult<String> {
        self.cloud(Operation::CreateRole, name, |w, _| {
            let now = w.now();
            w.role.get_or_insert(now);
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
            w.role.take().map(|_| ()).ok_or_else(|| not_found(op, name))
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
                if !w.images.repository {
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
