//! The conformance suite's model of AWS in memory (`bgd_rules::conformance`): each call of a
//! case made through the pipeline's traits on a world of its own, without faults, on virtual
//! time; the result read back as the wire answer the AWS boundary (`bgd-aws`) would have read it
//! from (an image in a version ⇐ `Code.ResolvedImageUri`, no statement ⇐ GetPolicy's 404), and
//! an error as the status and code of its kind. A call the traits do not name is not modelled
//! here (the case is skipped for this model, and says so).
use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use anyhow::Result;
use rand::{SeedableRng, rngs::SmallRng};
use serde_json::{Value, json};
use tokio::sync::Notify;

use super::{
    actor::Role,
    cloud::SimCloud,
    fault::Rates,
    world::{ACCOUNT, World},
};
use bgd_core::cloud::{
    Account, AliasTarget, Apis, CloudError, ErrorKind, FunctionSpec, Functions, ImageRef, Pruning,
    Settings, Stage, Version,
};
use bgd_rules::{
    Delays,
    conformance::{Answer, Case, Model, Verdict, function_of, run, vars},
    lambda::{state_reason, update_reason},
};

/// The calls of API Gateway (the others are Lambda's).
const APIGATEWAY: &[&str] = &[
    "CreateRestApi",
    "CreateDeployment",
    "CreateStage",
    "GetStage",
    "DeleteStage",
];

/// The calls of ECR.
const ECR: &[&str] = &[
    "CreateRepository",
    "DescribeRepositories",
    "GetAuthorizationToken",
    "GetLifecyclePolicy",
    "PutLifecyclePolicy",
];

/// The sim's region: every ARN it answers names it.
const REGION: &str = "us-east-1";

/// Runs every case on a fresh world, in order.
pub fn conformance(cases: &[Case], delays: Delays) -> Result<Vec<Verdict>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()?;
    Ok(cases
        .iter()
        .enumerate()
        .map(|(seed, case)| {
            runtime.block_on(async {
                let mut model = SimModel::new(seed as u64, delays);
                run(&mut model, case).await
            })
        })
        .collect())
}

struct SimModel {
    cloud: SimCloud,
    delays: Delays,
}

impl SimModel {
    fn new(seed: u64, delays: Delays) -> Self {
        let mut world = World::new(seed, Rates::draw(&mut SmallRng::seed_from_u64(seed)));
        world.delays = delays;
        world.alias_ms = 0;
        let cloud = SimCloud {
            world: Arc::new(Mutex::new(world)),
            actor: 0,
            role: Role::Provision,
            crashed: Arc::new(Notify::new()),
        };
        Self { cloud, delays }
    }

    async fn answer(&self, call: &str, i: &Value) -> Option<Result<(u16, Value), CloudError>> {
        let c = &self.cloud;
        let f = i["FunctionName"].as_str().unwrap_or_default();
        let s = |k: &str| i[k].as_str();
        let revision_given = i.get("RevisionId").is_some();
        Some(match call {
            "CreateFunction" if i.get("Publish").is_none() => {
                let created = async {
                    let role = c.ensure_function_role("conformance", "").await?;
                    let spec = FunctionSpec {
                        name: f.to_owned(),
                        role_arn: role,
                        image: image(i["Code"]["ImageUri"].as_str()),
                        architecture: i["Architectures"][0].as_str().unwrap_or("x86_64").into(),
                        settings: settings(
                            Settings {
                                environment: BTreeMap::new(),
                                memory_mb: 128,
                                timeout: std::time::Duration::from_secs(3),
                            },
                            i,
                        ),
                    };
                    c.create_image_function(&spec).await
                };
                created.await.map(|v| (201, configuration(&v)))
            }
            "GetFunction" => c
                .get_version(f, s("Qualifier").unwrap_or("$LATEST"))
                .await
                .map(|v| (200, function(&v))),
            "GetFunctionConfiguration" => c
                .get_version(f, s("Qualifier").unwrap_or("$LATEST"))
                .await
                .map(|v| (200, configuration(&v))),
            "UpdateFunctionCode" if !revision_given && i.get("Publish").is_none() => {
                let architecture = i["Architectures"][0].as_str().unwrap_or("x86_64");
                c.update_function_code(f, &image(s("ImageUri")), architecture)
                    .await
                    .map(|v| (200, configuration(&v)))
            }
            "UpdateFunctionConfiguration" if !revision_given => {
                let updated = async {
                    let current = c.get_version(f, "$LATEST").await?.settings;
                    c.update_function_configuration(f, &settings(current, i))
                        .await
                };
                updated.await.map(|v| (200, configuration(&v)))
            }
            "PublishVersion" if !revision_given => {
                let published = async {
                    let sha = match s("CodeSha256") {
                        Some(sha) => sha.to_owned(),
                        None => c.get_version(f, "$LATEST").await?.code_sha256,
                    };
                    c.publish_version(f, &sha, s("Description").unwrap_or_default())
                        .await
                };
                published.await.map(|v| (201, configuration(&v)))
            }
            "CreateAlias" => {
                let target = target(i, s("FunctionVersion").unwrap_or_default());
                let description = s("Description").unwrap_or_default();
                c.create_alias(f, s("Name").unwrap_or_default(), &target, description)
                    .await
                    .map(|a| (201, alias(&a, f)))
            }
            "UpdateAlias" => {
                let name = s("Name").unwrap_or_default();
                let updated = async {
                    let version = match s("FunctionVersion") {
                        Some(v) => v.to_owned(),
                        None => c.get_alias(f, name).await?.target.version,
                    };
                    let target = target(i, &version);
                    c.update_alias(f, name, &target, s("Description"), s("RevisionId"))
                        .await
                };
                updated.await.map(|a| (200, alias(&a, f)))
            }
            "GetAlias" => c
                .get_alias(f, s("Name").unwrap_or_default())
                .await
                .map(|a| (200, alias(&a, f))),
            "ListVersionsByFunction" => c.list_versions(f).await.map(|versions| {
                let listed: Vec<Value> = versions.iter().map(listed).collect();
                (200, json!({"Versions": listed}))
            }),
            "DeleteFunction" => match s("Qualifier") {
                Some(version) => c.delete_version(f, version).await,
                None => c.delete_function(f).await,
            }
            .map(|()| (204, Value::Null)),
            "AddPermission" => {
                let qualifier = s("Qualifier")?;
                let (sid, source) = (s("StatementId").unwrap_or_default(), s("SourceArn"));
                c.add_permission(f, qualifier, sid, source.unwrap_or_default())
                    .await
                    .map(|()| (201, json!({"Statement": json!({"Sid": sid}).to_string()})))
            }
            "GetPolicy" => {
                let statements = c.permission_statements(f, s("Qualifier")?).await;
                match statements {
                    // What the boundary reads as none.
                    Ok(ids) if ids.is_empty() => Ok(refusal(404, "ResourceNotFoundException")),
                    Ok(ids) => {
                        let statement: Vec<Value> =
                            ids.iter().map(|id| json!({"Sid": id})).collect();
                        Ok((
                            200,
                            json!({"Policy": json!({"Statement": statement}).to_string()}),
                        ))
                    }
                    Err(e) => Err(e),
                }
            }
            "CreateRestApi" => c
                .create_rest_api(s("name").unwrap_or_default())
                .await
                .map(|api| {
                    let answer =
                        json!({"id": api.id, "name": api.name, "rootResourceId": api.root_resource_id});
                    (201, answer)
                }),
            "CreateDeployment" => {
                let (api, description) = (s("restApiId")?, s("description").unwrap_or_default());
                c.create_deployment(api, description)
                    .await
                    .map(|id| (201, json!({"id": id})))
            }
            "CreateStage" => {
                let stage = Stage {
                    name: s("stageName").unwrap_or_default().to_owned(),
                    deployment_id: s("deploymentId").unwrap_or_default().to_owned(),
                    variables: i["variables"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                        .collect(),
                    description: s("description").unwrap_or_default().to_owned(),
                };
                c.create_stage(s("restApiId")?, &stage)
                    .await
                    .map(|stage| (201, stage_answer(&stage)))
            }
            "GetStage" => c
                .get_stage(s("restApiId")?, s("stageName")?)
                .await
                .map(|stage| (200, stage_answer(&stage))),
            "DeleteStage" => c
                .delete_stage(s("restApiId")?, s("stageName")?)
                .await
                .map(|()| (202, Value::Null)),
            _ => return self.answer_account(call, i).await,
        })
    }
}

/// A refusal the traits read as an answer (none, nothing to do), as the model writes it:
/// the code in `__type`, as AWS JSON 1.1 carries it.
fn refusal(status: u16, code: &str) -> (u16, Value) {
    (status, json!({ "__type": code }))
}

/// A stage as API Gateway writes it, from what the boundary reads of one.
fn stage_answer(stage: &Stage) -> Value {
    json!({
        "stageName": stage.name, "deploymentId": stage.deployment_id,
        "description": stage.description, "variables": stage.variables,
    })
}

impl Model for SimModel {
    fn name(&self) -> &str {
        "sim"
    }

    fn begin(&mut self, case: &Case) -> BTreeMap<String, String> {
        let role = format!("arn:aws:iam::{ACCOUNT}:role/conformance");
        vars(&function_of(case), REGION, "us-west-2", ACCOUNT, &role)
    }

    async fn call(&mut self, call: &str, input: &Value) -> Option<Answer> {
        Some(match self.answer(call, input).await? {
            Ok((status, body)) if status >= 400 => Answer {
                status,
                error: body["__type"].as_str().map(str::to_owned),
                body,
            },
            Ok((status, body)) => Answer {
                status,
                error: None,
                body,
            },
            Err(e) => {
                // API Gateway names its errors without Lambda's `Resource` prefix.
                let gateway = APIGATEWAY.contains(&call);
                let ecr = ECR.contains(&call);
                let (status, code) = match e.kind {
                    ErrorKind::NotFound if gateway => (404, Some("NotFoundException")),
                    // ECR refuses a missing repository as a client error.
                    ErrorKind::NotFound if ecr => (400, Some("RepositoryNotFoundException")),
                    ErrorKind::Conflict if gateway => (409, Some("ConflictException")),
                    ErrorKind::NotFound => (404, Some("ResourceNotFoundException")),
                    ErrorKind::Conflict => (409, Some("ResourceConflictException")),
                    ErrorKind::PreconditionFailed => (412, Some("PreconditionFailedException")),
                    ErrorKind::AccessDenied => (403, Some("AccessDeniedException")),
                    ErrorKind::NotReady => (400, Some("InvalidParameterValueException")),
                    // Only the kind is kept: a client error, its code unknown.
                    ErrorKind::Other => (400, None),
                };
                Answer {
                    status,
                    error: code.map(str::to_owned),
                    body: json!({"message": e.to_string()}),
                }
            }
        })
    }

    async fn settle(&mut self) {
        let wait = self.delays.pending_ms + self.delays.update_ms + 100;
        tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
    }
}

fn image(uri: Option<&str>) -> ImageRef {
    ImageRef::parse(uri.unwrap_or_default()).unwrap_or_else(|| ImageRef {
        registry: String::new(),
        repository: String::new(),
        digest: uri.unwrap_or_default().to_owned(),
    })
}

/// `current` with what the input's configuration sets.
fn settings(mut current: Settings, i: &Value) -> Settings {
    if let Some(vars) = i["Environment"]["Variables"].as_object() {
        current.environment = vars
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned().into()))
            .collect();
    }
    if let Some(memory) = i["MemorySize"].as_u64() {
        current.memory_mb = memory as u32;
    }
    current
}

fn target(i: &Value, version: &str) -> AliasTarget {
    let weights = i["RoutingConfig"]["AdditionalVersionWeights"].as_object();
    AliasTarget {
        version: version.to_owned(),
        additional_weights: weights
            .into_iter()
            .flatten()
            .map(|(v, w)| (v.clone(), w.as_f64().unwrap_or(f64::NAN)))
            .collect(),
    }
}

/// A configuration as Lambda writes it, from what the boundary reads of one.
fn configuration(v: &Version) -> Value {
    let arn = match v.version.as_str() {
        "$LATEST" => v.function_arn.clone(),
        n => format!("{}:{n}", v.function_arn),
    };
    let mut c = json!({
        "FunctionName": v.function_name, "FunctionArn": arn, "Version": v.version,
        "CodeSha256": v.code_sha256, "Description": v.description, "PackageType": "Image",
        "State": v.state.to_string(), "Architectures": [v.architecture],
        "MemorySize": v.settings.memory_mb, "Timeout": v.settings.timeout.as_secs(),
    });
    // The reasons follow from the state by Lambda's rule: the boundary reads only the state.
    if let Some((reason, code)) = state_reason(&v.state.to_string()) {
        c["StateReason"] = json!(reason);
        c["StateReasonCode"] = json!(code);
    }
    if let Some(status) = &v.last_update_status {
        c["LastUpdateStatus"] = json!(status);
        if let Some((reason, code)) = update_reason(status) {
            c["LastUpdateStatusReason"] = json!(reason);
            c["LastUpdateStatusReasonCode"] = json!(code);
        }
    }
    if let Some(revision) = &v.revision_id {
        c["RevisionId"] = json!(revision);
    }
    c
}

/// GetFunction's answer: the configuration, and the image as `Code`.
fn function(v: &Version) -> Value {
    let mut answer = json!({"Configuration": configuration(v)});
    if let Some(image) = &v.image {
        answer["Code"] = json!({"RepositoryType": "ECR", "ImageUri": image.uri(), "ResolvedImageUri": image.uri()});
    }
    answer
}

/// A version as ListVersionsByFunction lists it; an image the model hands out with it would
/// have come from a `Code` the listing carried.
fn listed(v: &Version) -> Value {
    let mut c = configuration(v);
    if let Some(image) = &v.image {
        c["Code"] = json!({"ResolvedImageUri": image.uri()});
    }
    c
}

fn alias(a: &bgd_core::cloud::Alias, function: &str) -> Value {
    let mut answer = json!({
        "AliasArn": format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}:{}", a.name),
        "Name": a.name, "FunctionVersion": a.target.version, "Description": a.description,
    });
    if !a.target.additional_weights.is_empty() {
        answer["RoutingConfig"] = json!({"AdditionalVersionWeights": a.target.additional_weights});
    }
    if let Some(revision) = &a.revision_id {
        answer["RevisionId"] = json!(revision);
    }
    answer
}

mod account;
#[cfg(test)]
mod tests;
