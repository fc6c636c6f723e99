//! The conformance suite's model of AWS over the wire (`bgd_rules::conformance`): each call of a
//! case sent by the real AWS SDK to an endpoint (the local cloud's front), the answer judged as
//! the SDK received it (its status and raw body, read after the SDK parsed it: an answer the
//! SDK cannot parse fails the case).
use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::Result;
use aws_sdk_lambda::{
    error::ProvideErrorMetadata,
    types::{AliasRoutingConfiguration, Architecture, Environment, FunctionCode, PackageType},
};
use aws_smithy_runtime_api::{
    box_error::BoxError,
    client::{
        interceptors::{Intercept, context::AfterDeserializationInterceptorContextRef},
        runtime_components::RuntimeComponents,
    },
};
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::Value;

use super::SdkCloud;
use bgd_core::cloud::{Account, Target};
use bgd_rules::conformance::{Answer, Case, Model, function_of, vars};

/// A call's result as the runner reads it: `Err` holds the status and error code received.
macro_rules! sent {
    ($builder:expr) => {
        Some($builder.send().await.map(|_| ()).map_err(|e| {
            let status = e.raw_response().map_or(0, |r| r.status().as_u16());
            let code = e.code().map_or_else(|| format!("{e:?}"), str::to_owned);
            (status, code)
        }))
    };
}

/// As [`sent!`], for the protocols whose body is not JSON (CloudWatch's CBOR, IAM's and STS's
/// XML): what the SDK parsed is written back by `$body` as the JSON the case judges (the fields
/// the pipeline and a user read), beside the status received.
macro_rules! parsed {
    ($model:ident, $builder:expr, $body:expr) => {{
        let result = $builder.send().await;
        let status = $model
            .received
            .0
            .lock()
            .expect("lock")
            .as_ref()
            .map_or(0, |r| r.0);
        Some(match result {
            Ok(out) => {
                *$model.received.0.lock().expect("lock") = Some((status, $body(out)));
                Ok(())
            }
            Err(e) => Err((
                e.raw_response().map_or(status, |r| r.status().as_u16()),
                e.code().unwrap_or("unknown").to_owned(),
            )),
        })
    }};
}

mod account;

/// The last answer the SDK received: its status and body.
#[derive(Debug, Clone, Default)]
struct Received(Arc<Mutex<Option<(u16, Value)>>>);

impl Intercept for Received {
    fn name(&self) -> &'static str {
        "Received"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _config: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        let body = response
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or(Value::Null);
        *self.0.lock().expect("lock") = Some((response.status().as_u16(), body));
        Ok(())
    }
}

/// Every service xtask calls, over the SDK at the local cloud's front.
pub struct WireModel {
    lambda: aws_sdk_lambda::Client,
    apigateway: aws_sdk_apigateway::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
    ecr: aws_sdk_ecr::Client,
    iam: aws_sdk_iam::Client,
    sts: aws_sdk_sts::Client,
    received: Received,
    /// The pipeline's own cloud on the same endpoint: its registry client pushes an image.
    cloud: SdkCloud,
    region: String,
    account: String,
    role: String,
    settle: Duration,
}

impl WireModel {
    /// Connects to `target` and creates the cases' execution role; `settle` is how long the
    /// model's delays take to pass.
    pub async fn connect(target: Target, settle: Duration) -> Result<Self> {
        let cloud = SdkCloud::connect(target).await?;
        let account = cloud.account_id().await?;
        let policy = bgd_core::config::logs_policy(&cloud.region, &account, "c-*");
        let role = cloud.ensure_function_role("conformance", &policy).await?;
        let received = Received::default();
        let lambda = cloud.lambda.config().to_builder();
        let apigateway = cloud.apigateway.config().to_builder();
        let cloudwatch = cloud.cloudwatch.config().to_builder();
        let ecr = cloud.ecr.config().to_builder();
        let iam = cloud.iam.config().to_builder();
        let sts = cloud.sts.config().to_builder();
        Ok(Self {
            lambda: aws_sdk_lambda::Client::from_conf(lambda.interceptor(received.clone()).build()),
            apigateway: aws_sdk_apigateway::Client::from_conf(
                apigateway.interceptor(received.clone()).build(),
            ),
            cloudwatch: aws_sdk_cloudwatch::Client::from_conf(
                cloudwatch.interceptor(received.clone()).build(),
            ),
            ecr: aws_sdk_ecr::Client::from_conf(ecr.interceptor(received.clone()).build()),
            iam: aws_sdk_iam::Client::from_conf(iam.interceptor(received.clone()).build()),
            sts: aws_sdk_sts::Client::from_conf(sts.interceptor(received.clone()).build()),
            received,
            region: cloud.region.clone(),
            account,
            role,
            settle,
            cloud,
        })
    }

    async fn send(&self, call: &str, i: &Value) -> Option<Result<(), (u16, String)>> {
        let s = |k: &str| i[k].as_str().map(str::to_owned);
        let l = &self.lambda;
        let name = s("FunctionName");
        match call {
            "CreateFunction" => sent!(
                l.create_function()
                    .set_function_name(name)
                    .set_role(s("Role"))
                    .package_type(PackageType::Image)
                    .code(
                        FunctionCode::builder()
                            .set_image_uri(i["Code"]["ImageUri"].as_str().map(str::to_owned))
                            .build()
                    )
                    .set_publish(i["Publish"].as_bool())
                    .set_description(s("Description"))
                    .set_architectures(architectures(i))
                    .set_environment(environment(i))
            ),
            "GetFunction" => sent!(
                l.get_function()
                    .set_function_name(name)
                    .set_qualifier(s("Qualifier"))
            ),
            "GetFunctionConfiguration" => sent!(
                l.get_function_configuration()
                    .set_function_name(name)
                    .set_qualifier(s("Qualifier"))
            ),
            "UpdateFunctionCode" => sent!(
                l.update_function_code()
                    .set_function_name(name)
                    .set_image_uri(s("ImageUri"))
                    .set_zip_file(s("ZipFile").map(aws_smithy_types::Blob::new))
                    .set_publish(i["Publish"].as_bool())
                    .set_revision_id(s("RevisionId"))
                    .set_architectures(architectures(i))
            ),
            "UpdateFunctionConfiguration" => sent!(
                l.update_function_configuration()
                    .set_function_name(name)
                    .set_description(s("Description"))
                    .set_environment(environment(i))
                    .set_memory_size(i["MemorySize"].as_i64().map(|m| m as i32))
                    .set_revision_id(s("RevisionId"))
            ),
            "PublishVersion" => sent!(
                l.publish_version()
                    .set_function_name(name)
                    .set_code_sha256(s("CodeSha256"))
                    .set_description(s("Description"))
                    .set_revision_id(s("RevisionId"))
            ),
            "CreateAlias" => sent!(
                l.create_alias()
                    .set_function_name(name)
                    .set_name(s("Name"))
                    .set_function_version(s("FunctionVersion"))
                    .set_description(s("Description"))
                    .set_routing_config(routing(i))
            ),
            "UpdateAlias" => sent!(
                l.update_alias()
                    .set_function_name(name)
                    .set_name(s("Name"))
                    .set_function_version(s("FunctionVersion"))
                    .set_description(s("Description"))
                    .set_routing_config(routing(i))
                    .set_revision_id(s("RevisionId"))
            ),
            "GetAlias" => sent!(l.get_alias().set_function_name(name).set_name(s("Name"))),
            "DeleteAlias" => sent!(l.delete_alias().set_function_name(name).set_name(s("Name"))),
            "ListVersionsByFunction" => {
                sent!(l.list_versions_by_function().set_function_name(name))
            }
            "DeleteFunction" => sent!(
                l.delete_function()
                    .set_function_name(name)
                    .set_qualifier(s("Qualifier"))
            ),
            "AddPermission" => sent!(
                l.add_permission()
                    .set_function_name(name)
                    .set_qualifier(s("Qualifier"))
                    .set_statement_id(s("StatementId"))
                    .set_action(s("Action"))
                    .set_principal(s("Principal"))
                    .set_source_arn(s("SourceArn"))
            ),
            "RemovePermission" => sent!(
                l.remove_permission()
                    .set_function_name(name)
                    .set_qualifier(s("Qualifier"))
                    .set_statement_id(s("StatementId"))
            ),
            "GetPolicy" => sent!(
                l.get_policy()
                    .set_function_name(name)
                    .set_qualifier(s("Qualifier"))
            ),
            _ => return self.send_apigateway(call, i).await,
        }
    }

    async fn send_apigateway(&self, call: &str, i: &Value) -> Option<Result<(), (u16, String)>> {
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
                    .set_variables(i["variables"].as_object().map(|vars| {
                        vars.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                            .collect()
                    }))
            ),
            "GetStage" => sent!(
                g.get_stage()
                    .set_rest_api_id(api)
                    .set_stage_name(s("stageName"))
            ),
            "UpdateStage" => {
                let operations = i["patchOperations"].as_array().map(|ops| {
                    ops.iter()
                        .map(|op| {
                            aws_sdk_apigateway::types::PatchOperation::builder()
                                .set_op(op["op"].as_str().map(Into::into))
                                .set_path(op["path"].as_str().map(str::to_owned))
                                .set_value(op["value"].as_str().map(str::to_owned))
                                .build()
                        })
                        .collect()
                });
                sent!(
                    g.update_stage()
                        .set_rest_api_id(api)
                        .set_stage_name(s("stageName"))
                        .set_patch_operations(operations)
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
            _ => self.send_cloudwatch(call, i).await,
        }
    }

    /// CloudWatch answers in CBOR (see [`parsed!`]).
    async fn send_cloudwatch(&self, call: &str, i: &Value) -> Option<Result<(), (u16, String)>> {
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
            _ => self.send_account(call, i).await,
        }
    }
}

fn architectures(i: &Value) -> Option<Vec<Architecture>> {
    let names = i["Architectures"].as_array()?;
    Some(
        names
            .iter()
            .filter_map(Value::as_str)
            .map(Architecture::from)
            .collect(),
    )
}

fn environment(i: &Value) -> Option<Environment> {
    let vars = i["Environment"]["Variables"].as_object()?;
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect();
    Some(Environment::builder().set_variables(Some(vars)).build())
}

fn routing(i: &Value) -> Option<AliasRoutingConfiguration> {
    let weights = i["RoutingConfig"]["AdditionalVersionWeights"].as_object()?;
    let weights: HashMap<String, f64> = weights
        .iter()
        .map(|(k, v)| (k.clone(), v.as_f64().unwrap_or_default()))
        .collect();
    Some(
        AliasRoutingConfiguration::builder()
            .set_additional_version_weights(Some(weights))
            .build(),
    )
}

impl Model for WireModel {
    fn name(&self) -> &str {
        "local"
    }

    fn begin(&mut self, case: &Case) -> BTreeMap<String, String> {
        let function = function_of(case);
        let other_region = if self.region == "us-west-2" {
            "eu-west-1"
        } else {
            "us-west-2"
        };
        vars(
            &function,
            &self.region,
            other_region,
            &self.account,
            &self.role,
        )
    }

    async fn call(&mut self, call: &str, input: &Value) -> Option<Answer> {
        *self.received.0.lock().expect("lock") = None;
        let result = self.send(call, input).await?;
        let received = self.received.0.lock().expect("lock").take();
        Some(match (result, received) {
            (Ok(()), Some((status, body))) => Answer {
                status,
                error: None,
                body,
            },
            (Ok(()), None) => Answer {
                status: 0,
                error: Some("the SDK received no answer".into()),
                body: Value::Null,
            },
            (Err((status, code)), received) => Answer {
                status,
                error: Some(code),
                body: received.map_or(Value::Null, |(_, body)| body),
            },
        })
    }

    async fn settle(&mut self) {
        tokio::time::sleep(self.settle).await;
    }
}
