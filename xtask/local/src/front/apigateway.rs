//! API Gateway as AWS rules it where moto does not: stage variables and patches, descriptions,
//! a deployment a stage serves, its statuses, the stages' defaults, and when a stage was changed
//! (it is served only once propagated).
use axum::{
    body::Bytes,
    http::{Method, StatusCode},
};

use serde_json::Value;

use super::{Answer, Call, Front, refuse};

impl Front {
    /// API Gateway: the call refused as AWS refuses it, else moto's answer as AWS gives it.
    pub(super) async fn apigateway(&self, call: Call) -> Answer {
        let body = call.json();
        if let Some(error) = invalid_input(&call, &body) {
            return refuse(StatusCode::BAD_REQUEST, "BadRequestException", &error);
        }
        if let Some(refused) = self.deployment_in_use(&call).await {
            return refused;
        }
        let mut answer = self.forward(&call).await;
        let path = call.target.split('?').next().unwrap_or_default();
        answer.status = gateway_status(&call.method, path, answer.status);
        let stages = path.rsplit_once("/stages").is_some();
        if stages && answer.status.is_success() && !answer.body.is_empty() {
            let mut body = answer.json();
            match body["item"].as_array_mut() {
                Some(items) => items.iter_mut().for_each(bgd_rules::stage_defaults),
                None => bgd_rules::stage_defaults(&mut body),
            }
            answer = answer.with_json(&body);
        }
        if answer.status.is_success() {
            self.stage_changed(&call, path, &body);
        }
        answer
    }

    /// CreateStage (POST …/stages) and UpdateStage (PATCH …/stages/NAME) start the stage's
    /// propagation.
    fn stage_changed(&self, call: &Call, path: &str, body: &Value) {
        let stage = match (&call.method, path.rsplit_once("/stages")) {
            (&Method::POST, Some((_, ""))) => body["stageName"].as_str().map(str::to_owned),
            (&Method::PATCH, Some((_, name))) => Some(name.trim_start_matches('/').to_owned()),
            _ => None,
        };
        let api = path
            .strip_prefix("/restapis/")
            .and_then(|rest| rest.split('/').next());
        if let (Some(stage), Some(api)) = (stage, api) {
            self.stages_changed.lock().expect("lock").insert(
                call.scoped(&format!("{api}/{stage}")),
                std::time::Instant::now(),
            );
        }
    }

    /// DeleteDeployment of a deployment a stage serves: API Gateway refuses it (recorded:
    /// LocalStack's AWS-validated `test_create_update_deployments`, delete-deployment-error);
    /// moto deletes it.
    async fn deployment_in_use(&self, call: &Call) -> Option<Answer> {
        let path = call.target.split('?').next().unwrap_or_default();
        let (api_path, deployment) = path.rsplit_once("/deployments/")?;
        if call.method != Method::DELETE {
            return None;
        }
        let list = Call {
            method: Method::GET,
            target: format!("{api_path}/stages"),
            headers: call.headers.clone(),
            body: Bytes::new(),
            region: call.region.clone(),
            service: call.service.clone(),
            account: call.account.clone(),
        };
        let stages = self.forward(&list).await.json();
        let used = stages["item"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|stage| stage["deploymentId"].as_str() == Some(deployment));
        used.then(|| {
            refuse(
                StatusCode::BAD_REQUEST,
                "BadRequestException",
                "Active stages pointing to this deployment must be moved or deleted",
            )
        })
    }
}

/// What AWS refuses of a call's input and moto stores: stage variables (given, or patched with
/// `replace /variables/NAME`) outside AWS's characters, a stage patch of a path AWS does not
/// patch, a description over 1024 characters.
fn invalid_input(call: &Call, body: &Value) -> Option<String> {
    let patches = || body["patchOperations"].as_array().into_iter().flatten();
    let given = body["variables"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, value)| (name.as_str(), value));
    let patched = patches().filter_map(|op| {
        let name = op["path"].as_str()?.strip_prefix("/variables/")?;
        Some((name, &op["value"]))
    });
    let variable = given.chain(patched).find_map(|(name, value)| {
        bgd_rules::stage_variable_error(name, value.as_str().unwrap_or_default())
    });
    let stage_patch = call.method == Method::PATCH && call.target.contains("/stages/");
    let patch = patches()
        .filter(|_| stage_patch)
        .find_map(|op| bgd_rules::stage_patch_error(op["path"].as_str().unwrap_or_default()));
    let description = body["description"]
        .as_str()
        .filter(|d| d.chars().count() > 1024)
        .map(|_| "description: at most 1024 characters".to_owned());
    variable.or(patch).or(description)
}

/// API Gateway's status for a success moto answers 200: 201 for a create (CreateRestApi,
/// CreateDeployment, CreateStage, CreateResource), 202 for a delete (DeleteRestApi,
/// DeleteStage, DeleteDeployment), as its API reference gives them and LocalStack's
/// AWS-validated snapshots recorded (test_apigateway_common: create-stage 201,
/// delete-deployment-1 202).
fn gateway_status(method: &Method, path: &str, status: StatusCode) -> StatusCode {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let collection = |names: &[&str]| segments.last().is_some_and(|last| names.contains(last));
    let item =
        |names: &[&str]| segments.len() >= 2 && names.contains(&segments[segments.len() - 2]);
    match *method {
        _ if status != StatusCode::OK => status,
        Method::POST if collection(&["restapis", "deployments", "stages", "resources"]) => {
            StatusCode::CREATED
        }
        Method::DELETE if item(&["restapis", "deployments", "stages"]) => StatusCode::ACCEPTED,
        _ => status,
    }
}
