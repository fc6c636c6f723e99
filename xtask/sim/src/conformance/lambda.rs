//! Lambda's calls in the in-memory model: a FunctionName resolved as Lambda resolves a name or
//! an ARN (`bgd_rules::lambda::addressed`), then each call through the `Functions` and
//! `Pruning` traits where the pipeline makes it so, else to the model's own operation (with
//! `Publish`, a `RevisionId`, a zip, any principal; DeleteAlias, RemovePermission), and the
//! answer written as Lambda writes it.
use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{ACCOUNT, REGION, Reply, SimModel, refusal};
use crate::lambda::{self, alias, permission};
use bgd_core::cloud::{
    Account, Alias, AliasTarget, FunctionSpec, Functions, ImageRef, Pruning, Settings, Version,
};
use bgd_rules::conformance::map_at;
use bgd_rules::lambda::{Address, LISTED_WITHOUT, addressed, state_reason, update_reason};

impl SimModel {
    pub(super) async fn answer_lambda(&self, call: &str, i: &Value) -> Option<Reply> {
        let given = i.get("FunctionName")?.as_str().unwrap_or_default();
        let i = match addressed(given, REGION, i["Qualifier"].as_str()) {
            Ok((name, qualifier)) => {
                let mut i = i.clone();
                i["FunctionName"] = json!(name);
                if let Some(qualifier) = qualifier {
                    i["Qualifier"] = json!(qualifier);
                }
                i
            }
            Err(Address::OtherRegion { .. }) => {
                return Some(Ok(refusal(404, "ResourceNotFoundException")));
            }
            Err(Address::QualifierMismatch) => {
                return Some(Ok(refusal(400, "InvalidParameterValueException")));
            }
        };
        match call {
            "CreateFunction"
            | "UpdateFunctionCode"
            | "UpdateFunctionConfiguration"
            | "PublishVersion" => self.write(call, &i).await,
            "GetFunction"
            | "GetFunctionConfiguration"
            | "ListVersionsByFunction"
            | "DeleteFunction" => self.read_or_delete(call, &i).await,
            _ => self.alias_or_policy(call, &i).await,
        }
    }

    /// The writes to `$LATEST` and PublishVersion.
    async fn write(&self, call: &str, i: &Value) -> Option<Reply> {
        let c = &self.cloud;
        let f = i["FunctionName"].as_str().unwrap_or_default();
        let s = |k: &str| i[k].as_str();
        let publish = i["Publish"].as_bool().unwrap_or(false);
        let architecture = i["Architectures"][0].as_str().unwrap_or("x86_64");
        let (revision, beyond_traits) = (s("RevisionId"), publish || s("RevisionId").is_some());
        let answered = match call {
            "CreateFunction" => {
                let role = match c.ensure_function_role("conformance", "").await {
                    Ok(role) => role,
                    Err(e) => return Some(Err(e)),
                };
                let spec = FunctionSpec {
                    name: f.to_owned(),
                    role_arn: role,
                    image: image(i["Code"]["ImageUri"].as_str()),
                    architecture: architecture.into(),
                    settings: settings(
                        Settings {
                            environment: BTreeMap::new(),
                            memory_mb: 128,
                            timeout: std::time::Duration::from_secs(3),
                        },
                        i,
                    ),
                };
                match publish {
                    true => lambda::create(&mut self.world(), &spec, true),
                    false => c.create_image_function(&spec).await,
                }
                .map(|v| (201, configuration(&v)))
            }
            "UpdateFunctionCode" => match s("ImageUri").map(|uri| image(Some(uri))) {
                Some(uri) if !beyond_traits => c.update_function_code(f, &uri, architecture).await,
                uri => {
                    let mut w = self.world();
                    lambda::update_code(&mut w, f, uri.as_ref(), architecture, publish, revision)
                }
            }
            .map(|v| (200, configuration(&v))),
            "UpdateFunctionConfiguration" => {
                let current = match c.get_version(f, "$LATEST").await {
                    Ok(v) => settings(v.settings, i),
                    Err(e) => return Some(Err(e)),
                };
                match revision {
                    None => c.update_function_configuration(f, &current).await,
                    Some(_) => {
                        lambda::update_configuration(&mut self.world(), f, &current, revision)
                    }
                }
                .map(|v| (200, configuration(&v)))
            }
            _ => {
                let description = s("Description").unwrap_or_default();
                match (s("CodeSha256"), revision) {
                    (Some(sha), None) => c.publish_version(f, sha, description).await,
                    (sha, revision) => {
                        let mut w = self.world();
                        lambda::publish(&mut w, f, sha, description, revision)
                    }
                }
                .map(|v| (201, configuration(&v)))
            }
        };
        Some(answered)
    }

    async fn read_or_delete(&self, call: &str, i: &Value) -> Option<Reply> {
        let c = &self.cloud;
        let f = i["FunctionName"].as_str().unwrap_or_default();
        let qualifier = i["Qualifier"].as_str();
        Some(match call {
            "GetFunction" => c
                .get_version(f, qualifier.unwrap_or("$LATEST"))
                .await
                .map(|v| (200, function(&v))),
            "GetFunctionConfiguration" => c
                .get_version(f, qualifier.unwrap_or("$LATEST"))
                .await
                .map(|v| (200, configuration(&v))),
            "ListVersionsByFunction" => c.list_versions(f).await.map(|versions| {
                let listed: Vec<Value> = versions.iter().map(listed).collect();
                (200, json!({"Versions": listed}))
            }),
            _ => match qualifier {
                Some(version) => c.delete_version(f, version).await,
                None => c.delete_function(f).await,
            }
            .map(|()| (204, Value::Null)),
        })
    }

    async fn alias_or_policy(&self, call: &str, i: &Value) -> Option<Reply> {
        let c = &self.cloud;
        let f = i["FunctionName"].as_str().unwrap_or_default();
        let s = |k: &str| i[k].as_str();
        let (name, qualifier) = (
            s("Name").unwrap_or_default(),
            s("Qualifier").unwrap_or_default(),
        );
        Some(match call {
            "CreateAlias" => {
                let target = target(i, s("FunctionVersion").unwrap_or_default());
                let description = s("Description").unwrap_or_default();
                c.create_alias(f, name, &target, description)
                    .await
                    .map(|a| (201, alias_answer(&a, f)))
            }
            "UpdateAlias" => {
                let version = match s("FunctionVersion") {
                    Some(v) => v.to_owned(),
                    None => match c.get_alias(f, name).await {
                        Ok(a) => a.target.version,
                        Err(e) => return Some(Err(e)),
                    },
                };
                c.update_alias(
                    f,
                    name,
                    &target(i, &version),
                    s("Description"),
                    s("RevisionId"),
                )
                .await
                .map(|a| (200, alias_answer(&a, f)))
            }
            "GetAlias" => c
                .get_alias(f, name)
                .await
                .map(|a| (200, alias_answer(&a, f))),
            "DeleteAlias" => Ok(match alias::delete(&mut self.world(), name) {
                true => (204, Value::Null),
                false => refusal(404, "ResourceNotFoundException"),
            }),
            "AddPermission" => {
                let statement = permission::Statement {
                    function: f,
                    qualifier,
                    statement_id: s("StatementId").unwrap_or_default(),
                    action: s("Action").unwrap_or_default(),
                    principal: s("Principal").unwrap_or_default(),
                    source_arn: s("SourceArn"),
                };
                Ok(match permission::add(&mut self.world(), &statement) {
                    Ok(added) => (201, json!({"Statement": added.to_string()})),
                    Err(permission::Refused::NoFunction) => {
                        refusal(404, "ResourceNotFoundException")
                    }
                    Err(permission::Refused::Rule(r)) => refusal(r.answered().0, r.answered().1),
                })
            }
            "RemovePermission" => {
                let sid = s("StatementId").unwrap_or_default();
                Ok(
                    match permission::remove(&mut self.world(), qualifier, sid) {
                        Some(true) => (204, Value::Null),
                        _ => refusal(404, "ResourceNotFoundException"),
                    },
                )
            }
            "GetPolicy" => Ok(match permission::policy(&self.world(), qualifier) {
                Some(statements) if !statements.is_empty() => {
                    let statements: Vec<Value> = statements.into_iter().map(|(_, s)| s).collect();
                    let document =
                        json!({"Version": "2012-10-17", "Id": "default", "Statement": statements});
                    (200, json!({"Policy": document.to_string()}))
                }
                _ => refusal(404, "ResourceNotFoundException"),
            }),
            _ => return None,
        })
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
    let vars = map_at(i, "/Environment/Variables", |v| {
        v.as_str().map(str::to_owned)
    });
    if let Some(vars) = vars {
        current.environment = vars.into_iter().map(|(k, v)| (k, v.into())).collect();
    }
    if let Some(memory) = i["MemorySize"].as_u64() {
        current.memory_mb = memory as u32;
    }
    current
}

fn target(i: &Value, version: &str) -> AliasTarget {
    // A weight that is not a number is one Lambda refuses: NaN fails the routing rule too.
    let weights = map_at(i, "/RoutingConfig/AdditionalVersionWeights", |w| {
        Some(w.as_f64().unwrap_or(f64::NAN))
    });
    AliasTarget {
        version: version.to_owned(),
        additional_weights: weights.unwrap_or_default(),
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

/// A version as ListVersionsByFunction lists it: without the fields a listing leaves out (the
/// boundary reads their absence as Active, which is what the trait answered); an image the
/// model hands out with it would have come from a `Code` the listing carried.
fn listed(v: &Version) -> Value {
    let mut c = configuration(v);
    if let Some(c) = c.as_object_mut() {
        for field in LISTED_WITHOUT {
            c.remove(*field);
        }
    }
    if let Some(image) = &v.image {
        c["Code"] = json!({"ResolvedImageUri": image.uri()});
    }
    c
}

fn alias_answer(a: &Alias, function: &str) -> Value {
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
