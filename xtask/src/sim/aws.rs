//! The in-memory AWS: Lambda, API Gateway, ECR and IAM as the pipeline's traits name them, each
//! write checked by the same rules the local cloud's front applies (`crate::rules`), and the
//! image registry. The oracle hears of every move of green and of the lock here.
use std::collections::BTreeMap;

use anyhow::Result;

use super::{
    cloud::SimCloud,
    oracle::Holder,
    world::{ACCOUNT, REGISTRY_HOST, SimAlias, SimStage, VersionFacts, World},
};
use crate::{
    cloud::{
        Account, Alias, AliasTarget, Apis, CloudError, CloudResult, ErrorKind, FunctionSpec,
        Functions, ImageRef, Operation, RegistryAccess, Repository, RestApi, Route, Settings,
        Stage, Version,
    },
    image::{Image, Registry},
    pipeline::{BLUE, GREEN},
    rules::{
        self,
        lambda::{Function, Refusal, alias_moved, busy_or_moved, code_sha256_moved},
    },
};

const API_ID: &str = "sim0api";

fn error(kind: ErrorKind, operation: Operation, subject: &str, detail: &str) -> CloudError {
    CloudError::new(kind, operation, subject, detail.to_owned())
}

fn not_found(operation: Operation, subject: &str) -> CloudError {
    error(
        ErrorKind::NotFound,
        operation,
        subject,
        "ResourceNotFoundException",
    )
}

fn refused(refusal: &Refusal, operation: Operation, subject: &str) -> CloudError {
    let kind = if refusal.is_conflict() {
        ErrorKind::Conflict
    } else {
        ErrorKind::PreconditionFailed
    };
    error(kind, operation, subject, &refusal.message(subject))
}

fn invalid(operation: Operation, subject: &str, why: String) -> CloudError {
    error(ErrorKind::Other, operation, subject, &why)
}

/// The function, if it exists, after the busy-or-moved guard every write to it meets.
fn guarded<'w>(
    w: &'w mut World,
    operation: Operation,
    name: &str,
) -> CloudResult<&'w mut (Function, Settings)> {
    let now = w.now();
    let entry = w
        .lambda
        .function
        .as_mut()
        .ok_or_else(|| not_found(operation, name))?;
    match busy_or_moved(&entry.0, now, None) {
        Some(refusal) => Err(refused(&refusal, operation, name)),
        None => Ok(entry),
    }
}

fn latest(w: &World, operation: Operation, name: &str) -> CloudResult<Version> {
    w.version(name, "$LATEST")
        .ok_or_else(|| not_found(operation, name))
}

impl Functions for SimCloud {
    async fn create_image_function(&self, spec: &FunctionSpec) -> CloudResult<Version> {
        let op = Operation::CreateFunction;
        self.cloud(op, &spec.name, |w, _| {
            if let Some(why) = rules::function_name_error(&spec.name) {
                return Err(invalid(op, &spec.name, why));
            }
            if w.lambda.function.is_some() {
                return Err(error(
                    ErrorKind::Conflict,
                    op,
                    &spec.name,
                    "Function already exist",
                ));
            }
            let now = w.now();
            if w.role
                .is_none_or(|created| now < created + w.delays.role_ms)
            {
                return Err(error(
                    ErrorKind::NotReady,
                    op,
                    &spec.name,
                    "The role defined for the function cannot be assumed by Lambda.",
                ));
            }
            let function = Function {
                image: spec.image.uri(),
                active_at: now + w.delays.pending_ms,
                updated_at: None,
                revision: w.revision(),
                versions: BTreeMap::new(),
                aliases: BTreeMap::new(),
            };
            w.lambda.function = Some((function, spec.settings.clone()));
            latest(w, op, &spec.name)
        })
        .await
    }

    async fn update_function_code(&self, function: &str, image: &ImageRef) -> CloudResult<Version> {
        let op = Operation::UpdateFunctionCode;
        self.cloud(op, function, |w, _| {
            let (now, update_ms, revision) = (w.now(), w.delays.update_ms, w.revision());
            let (f, _) = guarded(w, op, function)?;
            f.image = image.uri();
            f.updated_at = Some(now + update_ms);
            f.revision = revision;
            latest(w, op, function)
        })
        .await
    }

    async fn update_function_configuration(
        &self,
        function: &str,
        settings: &Settings,
    ) -> CloudResult<Version> {
        let op = Operation::UpdateFunctionConfiguration;
        self.cloud(op, function, |w, _| {
            if let Some(why) = rules::environment_error(&settings.environment) {
                return Err(invalid(op, function, why));
            }
            let (now, update_ms, revision) = (w.now(), w.delays.update_ms, w.revision());
            let (f, current) = guarded(w, op, function)?;
            *current = settings.clone();
            f.updated_at = Some(now + update_ms);
            f.revision = revision;
            latest(w, op, function)
        })
        .await
    }

    async fn publish_version(
        &self,
        function: &str,
        code_sha256: &str,
        description: &str,
    ) -> CloudResult<Version> {
        let op = Operation::PublishVersion;
        self.cloud(op, function, |w, _| {
            if let Some(why) = rules::description_error(description) {
                return Err(invalid(op, function, why));
            }
            let (now, delays, number) = (w.now(), w.delays, w.lambda.next_version);
            let (f, settings) = guarded(w, op, function)?;
            if let Some(refusal) = code_sha256_moved(f, Some(code_sha256)) {
                return Err(refused(&refusal, op, function));
            }
            rules::lambda::publish(f, number.to_string(), now, &delays);
            let settings = settings.clone();
            w.lambda.versions.insert(
                number,
                VersionFacts {
                    description: description.to_owned(),
                    settings,
                },
            );
            w.lambda.next_version += 1;
            w.version(function, &number.to_string())
                .ok_or_else(|| not_found(op, function))
        })
        .await
    }

    async fn get_version(&self, function: &str, qualifier: &str) -> CloudResult<Version> {
        let op = Operation::GetFunction;
        self.cloud(op, &format!("{function}:{qualifier}"), |w, _| {
            let qualifier = match w.lambda.aliases.get(qualifier) {
                Some(alias) => alias.target.clone(),
                None => qualifier.to_owned(),
            };
            w.version(function, &qualifier)
                .ok_or_else(|| not_found(op, function))
        })
        .await
    }

    async fn get_alias(&self, function: &str, alias: &str) -> CloudResult<Alias> {
        let op = Operation::GetAlias;
        self.cloud(op, &format!("{function}:{alias}"), |w, _| {
            alias_of(w, alias).ok_or_else(|| not_found(op, alias))
        })
        .await
    }

    async fn create_alias(
        &self,
        function: &str,
        alias: &str,
        target: &AliasTarget,
        description: &str,
    ) -> CloudResult<Alias> {
        let op = Operation::CreateAlias;
        self.cloud(
            op,
            &format!("{function}:{alias}→{}", target.version),
            |w, actor| {
                if let Some(why) = rules::alias_name_error(alias) {
                    return Err(invalid(op, alias, why));
                }
                if w.lambda.aliases.contains_key(alias) {
                    return Err(error(
                        ErrorKind::Conflict,
                        op,
                        alias,
                        "Alias already exists",
                    ));
                }
                let revision = w.revision();
                let (f, _) = w
                    .lambda
                    .function
                    .as_mut()
                    .ok_or_else(|| not_found(op, function))?;
                if !f.versions.contains_key(&target.version) {
                    return Err(not_found(op, &target.version));
                }
                f.aliases.insert(alias.to_owned(), revision);
                w.lambda.aliases.insert(
                    alias.to_owned(),
                    SimAlias {
                        target: target.version.clone(),
                        description: description.to_owned(),
                        previous: None,
                    },
                );
                if alias == GREEN {
                    let role = self.role.clone();
                    w.oracle.green_moved(actor, &role, "none", &target.version);
                }
                alias_of(w, alias).ok_or_else(|| not_found(op, alias))
            },
        )
        .await
    }

    async fn update_alias(
        &self,
        function: &str,
        alias: &str,
        target: &AliasTarget,
        description: Option<&str>,
        revision_id: Option<&str>,
    ) -> CloudResult<Alias> {
        let op = Operation::UpdateAlias;
        self.cloud(
            op,
            &format!("{function}:{alias}→{}", target.version),
            |w, actor| {
                if let Some(why) = description.and_then(rules::description_error) {
                    return Err(invalid(op, alias, why));
                }
                let revision = w.revision();
                let (f, _) = w
                    .lambda
                    .function
                    .as_mut()
                    .ok_or_else(|| not_found(op, function))?;
                let current = f
                    .aliases
                    .get(alias)
                    .cloned()
                    .ok_or_else(|| not_found(op, alias))?;
                if let Some(refusal) = alias_moved(Some(&current), revision_id) {
                    return Err(refused(&refusal, op, alias));
                }
                if !f.versions.contains_key(&target.version) {
                    return Err(not_found(op, &target.version));
                }
                f.aliases.insert(alias.to_owned(), revision);
                let from = w.lambda.aliases.get(alias).map(|a| a.target.clone());
                w.set_alias(alias, target, description);
                if alias == GREEN {
                    let role = self.role.clone();
                    let from = from.unwrap_or_default();
                    w.oracle.green_moved(actor, &role, &from, &target.version);
                }
                alias_of(w, alias).ok_or_else(|| not_found(op, alias))
            },
        )
        .await
    }

    async fn list_versions(&self, function: &str) -> CloudResult<Vec<Version>> {
        let op = Operation::ListVersionsByFunction;
        self.cloud(op, function, |w, _| {
            if w.lambda.function.is_none() {
                return Err(not_found(op, function));
            }
            let numbers: Vec<u64> = w.lambda.versions.keys().copied().collect();
            Ok(numbers
                .into_iter()
                .filter_map(|n| w.version(function, &n.to_string()))
                .collect())
        })
        .await
    }

    async fn add_permission(
        &self,
        function: &str,
        alias: &str,
        statement_id: &str,
        _source_arn: &str,
    ) -> CloudResult<()> {
        let op = Operation::AddPermission;
        self.cloud(op, &format!("{function}:{alias}"), |w, _| {
            let statements = w.lambda.permissions.entry(alias.to_owned()).or_default();
            if statements.insert(statement_id.to_owned()) {
                Ok(())
            } else {
                Err(error(
                    ErrorKind::Conflict,
                    op,
                    alias,
                    "The statement id provided already exists",
                ))
            }
        })
        .await
    }

    async fn delete_function(&self, function: &str) -> CloudResult<()> {
        let op = Operation::DeleteFunction;
        self.cloud(op, function, |w, _| {
            w.lambda
                .function
                .take()
                .map(|_| w.lambda = Default::default())
                .ok_or_else(|| not_found(op, function))
        })
        .await
    }

    async fn permission_statements(&self, function: &str, alias: &str) -> CloudResult<Vec<String>> {
        let op = Operation::GetPolicy;
        self.cloud(op, &format!("{function}:{alias}"), |w, _| {
            Ok(w.lambda
                .permissions
                .get(alias)
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default())
        })
        .await
    }
}

fn alias_of(w: &World, alias: &str) -> Option<Alias> {
    let (function, _) = w.lambda.function.as_ref()?;
    let sim = w.lambda.aliases.get(alias)?;
    Some(Alias {
        name: alias.into(),
        target: AliasTarget::version(sim.target.clone()),
        description: sim.description.clone(),
        revision_id: function.aliases.get(alias).cloned(),
    })
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
                if let Some(why) = rules::stage_variable_error(name, value) {
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
        self.cloud(op, name, |w, _| {
            rest_api(w, op, api_id)?;
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
