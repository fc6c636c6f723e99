//! API Gateway's and CloudWatch's calls in the in-memory model: the REST API and its stages
//! through the `Apis` trait where the pipeline makes the call, UpdateStage, DeleteDeployment and
//! the alarms by the model's own operations; a stage written with the fields API Gateway always
//! writes (`bgd_rules::stage_defaults`: the simulation keeps no cache, tracing or method
//! settings, which is what a stage created without them has).
use serde_json::{Value, json};

use super::{ACCOUNT, REGION, Reply, SimModel, wire};
use crate::gateway::{delete_deployment, update_stage};
use bgd_core::cloud::{Apis, Stage};
use bgd_rules::conformance::{map_at, patches};

impl SimModel {
    pub(super) async fn answer_gateway(&self, call: &str, i: &Value) -> Option<Reply> {
        let c = &self.cloud;
        let s = |k: &str| i[k].as_str();
        let api = s("restApiId").unwrap_or_default();
        Some(match call {
            "CreateRestApi" => c
                .create_rest_api(s("name").unwrap_or_default())
                .await
                .map(|api| {
                    let answer =
                        json!({"id": api.id, "name": api.name, "rootResourceId": api.root_resource_id});
                    (201, answer)
                }),
            "CreateDeployment" => c
                .create_deployment(api, s("description").unwrap_or_default())
                .await
                .map(|id| (201, json!({"id": id}))),
            "DeleteDeployment" => {
                let deleted = delete_deployment(&mut self.world(), s("deploymentId")?);
                wire(deleted.map(|()| (202, Value::Null)))
            }
            "CreateStage" => {
                let stage = Stage {
                    name: s("stageName").unwrap_or_default().to_owned(),
                    deployment_id: s("deploymentId").unwrap_or_default().to_owned(),
                    variables: map_at(i, "/variables", |v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    description: s("description").unwrap_or_default().to_owned(),
                };
                c.create_stage(api, &stage)
                    .await
                    .map(|stage| (201, stage_answer(&stage)))
            }
            "GetStage" => c
                .get_stage(api, s("stageName")?)
                .await
                .map(|stage| (200, stage_answer(&stage))),
            "UpdateStage" => {
                let patches: Vec<(&str, &str)> = patches(i)
                    .into_iter()
                    .map(|[_, path, value]| (path.unwrap_or_default(), value.unwrap_or_default()))
                    .collect();
                let updated = update_stage(&mut self.world(), s("stageName")?, &patches);
                wire(updated.map(|stage| (200, stage_answer(&stage))))
            }
            "DeleteStage" => c
                .delete_stage(api, s("stageName")?)
                .await
                .map(|()| (202, Value::Null)),
            "PutMetricAlarm" | "SetAlarmState" | "DescribeAlarms" | "DeleteAlarms" => {
                let mut w = self.world();
                let now = w.epoch_s();
                let arn = |name: &str| format!("arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}");
                let answered = bgd_rules::cloudwatch::alarms(&mut w.alarms, "", call, i, now, arn);
                Ok(match answered {
                    Ok(out) => (200, out),
                    Err(r) => (r.status(), json!({"__type": r.code, "message": r.message})),
                })
            }
            _ => return None,
        })
    }
}

/// A stage as API Gateway writes it, from what the boundary reads of one.
fn stage_answer(stage: &Stage) -> Value {
    let mut answer = json!({
        "stageName": stage.name, "deploymentId": stage.deployment_id,
        "description": stage.description, "variables": stage.variables,
    });
    bgd_rules::stage_defaults(&mut answer);
    answer
}
