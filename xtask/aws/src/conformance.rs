//! The conformance suite's model of AWS over the wire (`bgd_rules::conformance`): each call of a
//! case sent by the real AWS SDK to an endpoint (the local cloud's front), the answer judged as
//! the SDK received it (its status and raw body, read after the SDK parsed it: an answer the
//! SDK cannot parse fails the case).
use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::Result;
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
            let code = aws_smithy_types::error::metadata::ProvideErrorMetadata::code(&e)
                .map_or_else(|| format!("{e:?}"), str::to_owned);
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
                aws_smithy_types::error::metadata::ProvideErrorMetadata::code(&e)
                    .unwrap_or("unknown")
                    .to_owned(),
            )),
        })
    }};
}

mod account;
mod gateway;
mod lambda;

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

    /// One call, by its service.
    async fn send(&self, call: &str, i: &Value) -> Option<Result<(), (u16, String)>> {
        if let Some(sent) = self.send_lambda(call, i).await {
            return Some(sent);
        }
        if let Some(sent) = self.send_apigateway(call, i).await {
            return Some(sent);
        }
        if let Some(sent) = self.send_cloudwatch(call, i).await {
            return Some(sent);
        }
        self.send_account(call, i).await
    }
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
