//! Lambda in the in-memory AWS: the function, its versions and aliases, each write checked by
//! `bgd_rules::lambda` as the local cloud's front checks it. The oracle hears of every move
//! of green here.
use std::collections::BTreeMap;

use super::{
    aws::{error, invalid, not_found, refused},
    cloud::SimCloud,
    world::{SimAlias, VersionFacts, World},
};
use bgd_core::{
    cloud::{
        Alias, AliasTarget, CloudResult, ErrorKind, FunctionSpec, Functions, ImageRef, Operation,
        Settings, Version, VersionState,
    },
    pipeline::GREEN,
};
use bgd_rules::{
    self,
    lambda::{
        Function, Permission, Routing, RunsAs, alias_moved, busy_or_moved, code_sha256_moved,
        routing_refusal,
    },
};

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

/// An update of `$LATEST` as Lambda runs it: guarded, `change` applied, then InProgress for the
/// update delay under a new RevisionId.
fn updated(
    w: &mut World,
    operation: Operation,
    name: &str,
    change: impl FnOnce(&mut Function, &mut Settings),
) -> CloudResult<Version> {
    let (now, delays) = (w.now(), w.delays);
    let (revision, settled) = (w.revision(), w.revision());
    let (f, current) = guarded(w, operation, name)?;
    change(f, current);
    f.begin_update(now, &delays);
    f.revise(revision, settled);
    latest(w, operation, name)
}

fn latest(w: &World, operation: Operation, name: &str) -> CloudResult<Version> {
    w.version(name, "$LATEST")
        .ok_or_else(|| not_found(operation, name))
}

impl Functions for SimCloud {
    async fn create_image_function(&self, spec: &FunctionSpec) -> CloudResult<Version> {
        let op = Operation::CreateFunction;
        self.cloud(op, &spec.name, |w, _| {
            if let Some(why) = bgd_rules::function_name_error(&spec.name) {
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
                given_image: None,
                active_at: now + w.delays.pending_ms,
                updated_at: None,
                idle_when_updated: false,
                revision: w.revision(),
                settled_revision: w.revision(),
                architecture: spec.architecture.clone(),
                runs_as: RunsAs {
                    role: spec.role_arn.clone(),
                    dead_letter: None,
                },
                versions: BTreeMap::new(),
                aliases: BTreeMap::new(),
                policies: BTreeMap::new(),
            };
            w.lambda.function = Some((function, spec.settings.clone()));
            latest(w, op, &spec.name)
        })
        .await
    }

    async fn update_function_code(
        &self,
        function: &str,
        image: &ImageRef,
        architecture: &str,
    ) -> CloudResult<Version> {
        let op = Operation::UpdateFunctionCode;
        self.cloud(op, function, |w, _| {
            updated(w, op, function, |f, _| {
                f.image = image.uri();
                f.architecture = architecture.to_owned();
            })
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
            if let Some(why) = bgd_rules::environment_error(&settings.exposed_environment()) {
                return Err(invalid(op, function, why));
            }
            updated(w, op, function, |_, current| *current = settings.clone())
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
            if let Some(why) = bgd_rules::description_error(description) {
                return Err(invalid(op, function, why));
            }
            let (now, number) = (w.now(), w.lambda.next_version);
            let (revision, version_revision) = (w.revision(), w.revision());
            let (f, settings) = guarded(w, op, function)?;
            if let Some(refusal) = code_sha256_moved(f, Some(code_sha256)) {
                return Err(refused(&refusal, op, function));
            }
            if let Some(last) = bgd_rules::lambda::unpublished_since(f).map(str::to_owned) {
                return w
                    .version(function, &last)
                    .ok_or_else(|| not_found(op, function));
            }
            f.revise(revision.clone(), revision);
            bgd_rules::lambda::publish(f, number.to_string(), now, version_revision);
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
        self.cloud(op, &format!("{function}:{alias}"), |w, actor| {
            if alias == GREEN {
                w.oracle.green_read(actor);
            }
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
                if let Some(why) = bgd_rules::alias_name_error(alias) {
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
                if target.version != "$LATEST" && !f.versions.contains_key(&target.version) {
                    return Err(not_found(op, &target.version));
                }
                routed(f, op, function, alias, target)?;
                f.aliases.insert(alias.to_owned(), revision);
                w.lambda.aliases.insert(
                    alias.to_owned(),
                    SimAlias {
                        target: target.version.clone(),
                        weights: target.additional_weights.clone(),
                        description: description.to_owned(),
                        previous: None,
                    },
                );
                if alias == GREEN {
                    let role = self.role.clone();
                    w.oracle.green_moved(actor, &role, None, target);
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
        if alias == GREEN {
            self.world().oracle.green_sent(self.actor);
        }
        self.cloud(
            op,
            &format!("{function}:{alias}→{}", target.version),
            |w, actor| {
                if let Some(why) = description.and_then(bgd_rules::description_error) {
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
                routed(f, op, function, alias, target)?;
                f.aliases.insert(alias.to_owned(), revision);
                let from = alias_of(w, alias).map(|a| a.target);
                w.set_alias(alias, target, description);
                if alias == GREEN {
                    let role = self.role.clone();
                    w.oracle.green_moved(actor, &role, from.as_ref(), target);
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
            // ListVersionsByFunction answers configurations, which name no image (only
            // GetFunction's `Code` does: aws-audit-3 N1, N11, prune once read "verified" from
            // this list) and no State or LastUpdateStatus (recorded: LocalStack's AWS-validated
            // test_lambda_image_versions, list_versions_result). What the boundary reads from such
            // an answer is what the pipeline sees: no image, Active, no update status.
            Ok(numbers
                .into_iter()
                .filter_map(|n| w.version(function, &n.to_string()))
                .map(|v| Version {
                    image: None,
                    state: VersionState::Active,
                    last_update_status: None,
                    ..v
                })
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
            let (f, _) = w
                .lambda
                .function
                .as_mut()
                .ok_or_else(|| not_found(op, function))?;
            let statement = serde_json::json!({"Sid": statement_id});
            // The pipeline's one principal: API Gateway.
            let principal = "apigateway.amazonaws.com";
            bgd_rules::lambda::add_permission(f, alias, statement_id, principal, statement).map_err(
                |refusal| {
                    let kind = match refusal {
                        Permission::Latest | Permission::StatementId(_) | Permission::Principal => {
                            ErrorKind::Other
                        }
                        Permission::NoQualifier(_) => ErrorKind::NotFound,
                        Permission::Duplicate(_) => ErrorKind::Conflict,
                    };
                    error(kind, op, alias, &refusal.message(function))
                },
            )
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
            let (f, _) = w
                .lambda
                .function
                .as_ref()
                .ok_or_else(|| not_found(op, function))?;
            Ok(bgd_rules::lambda::policy(f, alias)
                .map(|statements| statements.keys().cloned().collect())
                .unwrap_or_default())
        })
        .await
    }
}

/// Lambda's rule on an alias's routing configuration, as the front applies it.
fn routed(
    f: &Function,
    op: Operation,
    function: &str,
    alias: &str,
    target: &AliasTarget,
) -> CloudResult<()> {
    match routing_refusal(f, function, &target.version, &target.additional_weights) {
        None => Ok(()),
        Some(Routing::NotFound(why)) => Err(error(ErrorKind::NotFound, op, alias, &why)),
        Some(refusal) => Err(invalid(op, alias, refusal.message().to_owned())),
    }
}

fn alias_of(w: &World, alias: &str) -> Option<Alias> {
    let (function, _) = w.lambda.function.as_ref()?;
    let sim = w.lambda.aliases.get(alias)?;
    Some(Alias {
        name: alias.into(),
        target: AliasTarget {
            version: sim.target.clone(),
            additional_weights: sim.weights.clone(),
        },
        description: sim.description.clone(),
        revision_id: function.aliases.get(alias).cloned(),
    })
}
