//! API Gateway in the in-memory AWS: the one REST API, its deployments and stages, each write
//! checked by the rules the local cloud's front applies (`bgd_rules`: stage variables, patch
//! paths, a deployment in use). The oracle hears of every take and removal of the lock here.
use super::{
    aws::{Refused, error, invalid, not_found},
    cloud::SimCloud,
    oracle::Holder,
    world::{SimStage, World},
};
use bgd_core::{
    cloud::{Apis, CloudResult, ErrorKind, Operation, RestApi, Route, Stage},
    pipeline::BLUE,
};

const API_ID: &str = "sim0api";

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

/// UpdateStage: each patch's path as API Gateway allows it (`bgd_rules::stage_patch_error`),
/// `replace` of a variable, the description or the deployment; the stage is served as changed
/// `stage_ms` later, as a new one.
pub(super) fn update_stage(
    w: &mut World,
    name: &str,
    patches: &[(&str, &str)],
) -> Result<Stage, Refused> {
    let bad = |why: String| Refused::new(400, "BadRequestException", why);
    let served_at = w.now() + w.delays.stage_ms;
    let Some(stage) = w.gateway.stages.get_mut(name) else {
        let why = format!("Invalid Stage identifier specified: {name}");
        return Err(Refused::new(404, "NotFoundException", why));
    };
    let mut changed = stage.stage.clone();
    for (path, value) in patches {
        if let Some(why) = bgd_rules::stage_patch_error(path) {
            return Err(bad(why));
        }
        match path.strip_prefix("/variables/") {
            Some(variable) => {
                if let Some(why) = bgd_rules::stage_variable_error(variable, value) {
                    return Err(bad(why));
                }
                changed
                    .variables
                    .insert(variable.to_owned(), (*value).to_owned());
            }
            None if *path == "/description" => changed.description = (*value).to_owned(),
            None if *path == "/deploymentId" => changed.deployment_id = (*value).to_owned(),
            // The settings the simulation keeps none of (cache, tracing, method settings).
            None => {}
        }
    }
    stage.stage = changed.clone();
    stage.served_at = served_at;
    Ok(changed)
}

/// DeleteDeployment: one a stage serves is refused (recorded: LocalStack's AWS-validated
/// `test_create_update_deployments`, delete-deployment-error).
pub(super) fn delete_deployment(w: &mut World, id: &str) -> Result<(), Refused> {
    let number = id.strip_prefix("dep-").and_then(|n| n.parse::<u64>().ok());
    let Some(number) = number.filter(|n| {
        (1..=w.gateway.deployments).contains(n) && !w.gateway.deleted_deployments.contains(n)
    }) else {
        let why = format!("Invalid Deployment identifier specified: {id}");
        return Err(Refused::new(404, "NotFoundException", why));
    };
    if w.gateway
        .stages
        .values()
        .any(|s| s.stage.deployment_id == id)
    {
        let why = "Active stages pointing to this deployment must be moved or deleted".into();
        return Err(Refused::new(400, "BadRequestException", why));
    }
    w.gateway.deleted_deployments.insert(number);
    Ok(())
}
