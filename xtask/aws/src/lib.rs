//! The one AWS boundary: the only crate with `aws-sdk-*`. [`SdkCloud`] implements `bgd-core`'s
//! cloud traits on AWS, and on the local cloud exactly as on AWS (its strict front answers as
//! AWS does: no emulator branch here); [`OciRegistry`] is the image registry, [`HttpClient`]
//! the stage checks' client, [`CloudWatch`] what a rollout watches.
mod account;
mod apigateway;
mod audit;
mod cloudwatch;
mod conformance;
mod error;
mod fail_operation;
#[cfg(test)]
mod guards;
mod http;
mod lambda;
mod metered;
mod operator;
mod pruning;
mod registry;
mod tls;

use anyhow::{Context, Result};
use aws_config::{BehaviorVersion, Region};
use aws_sdk_sts::config::Credentials;

pub use audit::{Audit, OidcProvider, RoleGrants, environment_region};
use bgd_core::{
    cloud::{
        Account, Alias, AliasTarget, Apis, CloudError, CloudResult, ErrorKind, FunctionSpec,
        Functions, ImageRef, Integration, Operation, Pruning, ROLE_POLICY, Reach, RegistryAccess,
        Repository, RestApi, Route, Settings, Stage, Target, Version, VersionState, absent_as_none,
    },
    pipeline::Cloud,
};
pub use cloudwatch::CloudWatch;
pub use conformance::WireModel;
pub use http::HttpClient;
pub use metered::WriteMeter;
pub use operator::Operator;
pub use registry::OciRegistry;

/// The SDK clients for one target; implements [`Functions`], [`Apis`] and [`Account`].
pub struct SdkCloud {
    lambda: aws_sdk_lambda::Client,
    apigateway: aws_sdk_apigateway::Client,
    ecr: aws_sdk_ecr::Client,
    iam: aws_sdk_iam::Client,
    sts: aws_sdk_sts::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
    region: String,
    /// How late Lambda's metrics reach this target's CloudWatch.
    metrics_lag: std::time::Duration,
    writes: WriteMeter,
}

/// Bounds on every SDK call: connecting, one attempt, and all attempts with their retries.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
const ATTEMPT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
const OPERATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(90);

/// The SDK's configuration from `loader`, in the profile `reach` names, then as the role it
/// names, assumed from the credentials found (the provider renews them before they expire).
async fn reached(loader: aws_config::ConfigLoader, reach: Reach) -> aws_config::SdkConfig {
    let loader = match reach.profile {
        Some(profile) => loader.profile_name(profile),
        None => loader,
    };
    let sdk = loader.load().await;
    let Some(role) = reach.role_arn else {
        return sdk;
    };
    let assumed = aws_config::sts::AssumeRoleProvider::builder(role)
        .session_name("bgd-deploy")
        .configure(&sdk)
        .build()
        .await;
    sdk.into_builder()
        .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(assumed))
        .build()
}

impl SdkCloud {
    /// The one place SDK configuration is built.
    pub async fn connect(target: Target) -> Result<Self> {
        // Every call is bounded: an endpoint that accepts and never answers must not hold a
        // deploy (and its lock) until --timeout. Lambda's and API Gateway's control-plane calls
        // answer in well under a second; image optimisation is waited for by polling, not here.
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .operation_attempt_timeout(ATTEMPT_TIMEOUT)
            .operation_timeout(OPERATION_TIMEOUT)
            .build();
        let loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(tls::sdk_http_client())
            .timeout_config(timeouts);
        let metrics_lag = match target {
            Target::Aws { .. } => cloudwatch::LAMBDA_METRICS_LAG,
            Target::Local { .. } => std::time::Duration::ZERO,
        };
        let (loader, reach) = match target {
            Target::Aws { region, reach } => {
                let elsewhere = audit::environment_region()
                    .await
                    .filter(|other| *other != region);
                if let Some(other) = elsewhere {
                    eprintln!(
                        "note: using deploy.toml's region {region}, not {other} from the environment or profile"
                    );
                }
                (loader.region(Region::new(region)), reach)
            }
            Target::Local {
                endpoint_url,
                region,
                account,
                reach,
            } => {
                let loader = loader
                    .endpoint_url(endpoint_url)
                    .region(Region::new(region));
                // The local cloud takes an access key id of 12 digits for the account id (as
                // LocalStack does); any other is its default account. A profile brings its own.
                let key = account.unwrap_or_else(|| "local".into());
                let credentials = Credentials::new(key, "local", None, None, "local-cloud");
                match reach.profile {
                    Some(_) => (loader, reach),
                    None => (loader.credentials_provider(credentials), reach),
                }
            }
        };
        let sdk = reached(loader, reach).await;
        let region = sdk
            .region()
            .map(ToString::to_string)
            .context("no AWS region: set AWS_REGION (or a profile's region)")?;
        let writes = WriteMeter::default();
        let fail = fail_operation::FailOperation::from_env();
        macro_rules! client {
            ($sdk_crate:ident) => {{
                let mut config =
                    $sdk_crate::config::Builder::from(&sdk).interceptor(writes.clone());
                if let Some(fail) = &fail {
                    config = config.interceptor(fail.clone());
                }
                $sdk_crate::Client::from_conf(config.build())
            }};
        }
        Ok(Self {
            lambda: client!(aws_sdk_lambda),
            apigateway: client!(aws_sdk_apigateway),
            ecr: client!(aws_sdk_ecr),
            iam: client!(aws_sdk_iam),
            sts: client!(aws_sdk_sts),
            cloudwatch: client!(aws_sdk_cloudwatch),
            region,
            metrics_lag,
            writes,
        })
    }

    /// How many write calls these clients, and the registry metered with them, have sent so far.
    pub fn write_calls(&self) -> usize {
        self.writes.count()
    }

    /// The meter of these clients' writes, for the registry client to count its own on.
    pub(crate) fn write_meter(&self) -> WriteMeter {
        self.writes.clone()
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// What a rollout watches: CloudWatch, through these clients' configuration.
    pub fn traffic(&self) -> CloudWatch {
        CloudWatch {
            client: self.cloudwatch.clone(),
            lag: self.metrics_lag,
        }
    }
}

impl Cloud for SdkCloud {
    type Registry = OciRegistry;
    type Http = HttpClient;

    fn registry_client(&self, access: RegistryAccess) -> Result<OciRegistry> {
        let scheme = if access.plain_http { "http" } else { "https" };
        let registry = OciRegistry::new(&format!("{scheme}://{}", access.host), access.basic)?;
        Ok(registry.metered(self.write_meter()))
    }
}

#[cfg(test)]
mod tls_tests;

/// A SdkCloud on AWS whose clients are never called: a test puts in the mocked client it
/// drives (`SdkCloud { ecr, ..unconnected() }`).
#[cfg(test)]
fn unconnected() -> SdkCloud {
    let sdk = aws_config::SdkConfig::builder()
        .region(Region::new("us-east-1"))
        .behavior_version(BehaviorVersion::latest())
        .build();
    SdkCloud {
        lambda: aws_sdk_lambda::Client::new(&sdk),
        apigateway: aws_sdk_apigateway::Client::new(&sdk),
        ecr: aws_sdk_ecr::Client::new(&sdk),
        iam: aws_sdk_iam::Client::new(&sdk),
        sts: aws_sdk_sts::Client::new(&sdk),
        cloudwatch: aws_sdk_cloudwatch::Client::new(&sdk),
        region: "us-east-1".into(),
        metrics_lag: cloudwatch::LAMBDA_METRICS_LAG,
        writes: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::{ATTEMPT_TIMEOUT, CONNECT_TIMEOUT, OPERATION_TIMEOUT, SdkCloud, Target};

    #[tokio::test]
    async fn every_client_bounds_its_calls() {
        let cloud = SdkCloud::connect(Target::Local {
            endpoint_url: "http://127.0.0.1:9".into(),
            region: "us-east-1".into(),
            account: None,
            reach: Default::default(),
        })
        .await
        .unwrap();
        let configs = [
            cloud.lambda.config().timeout_config().cloned(),
            cloud.apigateway.config().timeout_config().cloned(),
            cloud.ecr.config().timeout_config().cloned(),
            cloud.iam.config().timeout_config().cloned(),
            cloud.sts.config().timeout_config().cloned(),
        ];
        for timeouts in configs {
            let timeouts = timeouts.expect("a timeout config");
            assert_eq!(timeouts.connect_timeout(), Some(CONNECT_TIMEOUT));
            assert_eq!(timeouts.operation_attempt_timeout(), Some(ATTEMPT_TIMEOUT));
            assert_eq!(timeouts.operation_timeout(), Some(OPERATION_TIMEOUT));
        }
    }
}
