//! API Gateway's and CloudWatch's calls over the wire: API Gateway's answers judged as received
//! (JSON), CloudWatch's as the SDK parsed them (see `parsed!`).
use serde_json::Value;

use super::WireModel;
use bgd_rules::conformance::{map_at, patches};

impl WireModel {
    pub(super) async fn send_apigateway(
        &self,
        call: &str,
        i: &Value,
    ) -> Option<Result<(), (u16, String)>> {
        let s = |k: &str| i[k].as_str().map(str::to_owned);
        let g = &self.apigateway;
        let api = s("restApiId");
        match call {
            "CreateRestApi" => sent!(g.create_rest_api().set_name(s("name"))),
            "CreateDeployment" => sent!(
                g.create_deployment()
                    .set_rest_api_id(api)
                    .set_description(s("description"))
            ),
            "DeleteDeployment" => sent!(
                g.delete_deployment()
                    .set_rest_api_id(api)
                    .set_deployment_id(s("deploymentId"))
            ),
            "CreateStage" => sent!(
                g.create_stage()
                    .set_rest_api_id(api)
                    .set_stage_name(s("stageName"))
                    .set_deployment_id(s("deploymentId"))
                    .set_description(s("description"))
                    .set_variables(
                        map_at(i, "/variables", |v| v.as_str().map(str::to_owned))
                            .map(|vars| vars.into_iter().collect())
                    )
            ),
            "GetStage" => sent!(
                g.get_stage()
                    .set_rest_api_id(api)
                    .set_stage_name(s("stageName"))
            ),
            "UpdateStage" => {
                let operations = patches(i)
                    .into_iter()
                    .map(|[op, path, value]| {
                        aws_sdk_apigateway::types::PatchOperation::builder()
                            .set_op(op.map(Into::into))
                            .set_path(path.map(str::to_owned))
                            .set_value(value.map(str::to_owned))
                            .build()
                    })
                    .collect();
                sent!(
                    g.update_stage()
                        .set_rest_api_id(api)
                        .set_stage_name(s("stageName"))
                        .set_patch_operations(Some(operations))
                )
            }
            "PutMethod" => sent!(
                g.put_method()
                    .set_rest_api_id(api)
                    .set_resource_id(s("resourceId"))
                    .set_http_method(s("httpMethod"))
                    .set_authorization_type(s("authorizationType"))
            ),
            "PutIntegration" => sent!(
                g.put_integration()
                    .set_rest_api_id(api)
                    .set_resource_id(s("resourceId"))
                    .set_http_method(s("httpMethod"))
                    .set_type(s("type").map(|t| t.as_str().into()))
            ),
            "DeleteStage" => sent!(
                g.delete_stage()
                    .set_rest_api_id(api)
                    .set_stage_name(s("stageName"))
            ),
            _ => None,
        }
    }

    /// CloudWatch answers in CBOR (see [`parsed!`]).
    pub(super) async fn send_cloudwatch(
        &self,
        call: &str,
        i: &Value,
    ) -> Option<Result<(), (u16, String)>> {
        use aws_sdk_cloudwatch::types::{ComparisonOperator, StateValue, Statistic};
        let s = |k: &str| i[k].as_str().map(str::to_owned);
        let w = &self.cloudwatch;
        let names = || {
            i["AlarmNames"].as_array().map(|names| {
                names
                    .iter()
                    .filter_map(|n| n.as_str().map(str::to_owned))
                    .collect()
            })
        };
        match call {
            "PutMetricAlarm" => parsed!(
                self,
                w.put_metric_alarm()
                    .set_alarm_name(s("AlarmName"))
                    .set_namespace(s("Namespace"))
                    .set_metric_name(s("MetricName"))
                    .set_statistic(s("Statistic").map(|v| Statistic::from(v.as_str())))
                    .set_period(i["Period"].as_i64().map(|p| p as i32))
                    .set_evaluation_periods(i["EvaluationPeriods"].as_i64().map(|p| p as i32))
                    .set_threshold(i["Threshold"].as_f64())
                    .set_comparison_operator(
                        s("ComparisonOperator").map(|v| ComparisonOperator::from(v.as_str()))
                    ),
                |_| Value::Null
            ),
            "SetAlarmState" => parsed!(
                self,
                w.set_alarm_state()
                    .set_alarm_name(s("AlarmName"))
                    .set_state_value(s("StateValue").map(|v| StateValue::from(v.as_str())))
                    .set_state_reason(s("StateReason")),
                |_| Value::Null
            ),
            "DeleteAlarms" => parsed!(self, w.delete_alarms().set_alarm_names(names()), |_| {
                Value::Null
            }),
            "DescribeAlarms" => parsed!(
                self,
                w.describe_alarms().set_alarm_names(names()),
                |out: aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput| {
                    let alarms: Vec<Value> = out
                        .metric_alarms()
                        .iter()
                        .map(|a| {
                            serde_json::json!({
                                "AlarmName": a.alarm_name(), "AlarmArn": a.alarm_arn(),
                                "StateValue": a.state_value().map(|v| v.as_str()),
                                "StateReason": a.state_reason(), "MetricName": a.metric_name(),
                                "Namespace": a.namespace(), "Statistic": a.statistic().map(|v| v.as_str()),
                                "Period": a.period(), "EvaluationPeriods": a.evaluation_periods(),
                                "Threshold": a.threshold(),
                                "ComparisonOperator": a.comparison_operator().map(|v| v.as_str()),
                                "ActionsEnabled": a.actions_enabled(),
                                "AlarmConfigurationUpdatedTimestamp": a.alarm_configuration_updated_timestamp().map(|t| t.secs()),
                                "StateTransitionedTimestamp": a.state_transitioned_timestamp().map(|t| t.secs()),
                                "StateUpdatedTimestamp": a.state_updated_timestamp().map(|t| t.secs()),
                            })
                        })
                        .collect();
                    serde_json::json!({"MetricAlarms": alarms})
                }
            ),
            _ => None,
        }
    }
}
