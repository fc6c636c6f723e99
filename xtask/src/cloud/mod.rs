//! The one AWS boundary: the only module that imports `aws_sdk_*`. Small traits name every
//! operation the tooling performs ([`Functions`], [`Apis`], [`Account`], [`Pruning`]); [`SdkCloud`]
//! implements them on AWS, and on the local cloud exactly as on AWS (its strict front answers
//! as AWS does: no emulator branch here).
mod account;
mod apigateway;
mod audit;
mod cloudwatch;
mod error;
mod fault;
#[cfg(test)]
pub(crate) mod guards;
mod lambda;
mod metered;
mod operation;
mod pruning;
mod types;

use std::future::Future;

use anyhow::{Context, Result};
use aws_config::{BehaviorVersion, Region};
use aws_sdk_sts::config::Credentials;

pub use audit::{Audit, OidcProvider, RoleGrants, environment_region};
pub use cloudwatch::CloudWatch;
pub use error::{CloudError, CloudResult, ErrorKind, absent_as_none};
pub use fault::FAIL_OPERATION;
pub use metered::WriteMeter;
pub use operation::{IMPLIED_ACTIONS, Operation, Scope};
pub use types::{
    Alias, AliasTarget, FunctionSpec, ImageRef, Integration, RegistryAccess, Repository, RestApi,
    Route, Settings, Stage, Version, VersionState,
};

/// Lambda: image functions, their versions and aliases.
pub trait Functions: Send + Sync {
    /// CreateFunction for an image; returns `$LATEST`.
    fn create_image_function(
        &self,
        spec: &FunctionSpec,
    ) -> impl Future<Output = CloudResult<Version>> + Send;
    /// UpdateFunctionCode to `image` on `architecture` (`x86_64` or `arm64`: a function
    /// switches architecture with its code); returns `$LATEST` (poll its `last_update_status`).
    fn update_function_code(
        &self,
        function: &str,
        image: &ImageRef,
        architecture: &str,
    ) -> impl Future<Output = CloudResult<Version>> + Send;
    fn update_function_configuration(
        &self,
        function: &str,
        settings: &Settings,
    ) -> impl Future<Output = CloudResult<Version>> + Send;
    /// PublishVersion, guarded: fails (InvalidParameterValueException, HTTP 400, on AWS: not
    /// PreconditionFailed, which is RevisionId's) unless `$LATEST`'s CodeSha256 is
    /// `code_sha256` (pass what Lambda reported for `$LATEST` after the update: no AWS
    /// document says how it derives from an image's digest).
    fn publish_version(
        &self,
        function: &str,
        code_sha256: &str,
        description: &str,
    ) -> impl Future<Output = CloudResult<Version>> + Send;
    /// GetFunction by version number, `$LATEST` or alias (an alias answers with its version).
    fn get_version(
        &self,
        function: &str,
        qualifier: &str,
    ) -> impl Future<Output = CloudResult<Version>> + Send;
    fn get_alias(
        &self,
        function: &str,
        alias: &str,
    ) -> impl Future<Output = CloudResult<Alias>> + Send;
    fn create_alias(
        &self,
        function: &str,
        alias: &str,
        target: &AliasTarget,
        description: &str,
    ) -> impl Future<Output = CloudResult<Alias>> + Send;
    /// UpdateAlias; with `revision_id`, fails with PreconditionFailed when the alias moved.
    /// `description` replaces the alias's Description when given (the promotion record).
    fn update_alias(
        &self,
        function: &str,
        alias: &str,
        target: &AliasTarget,
        description: Option<&str>,
        revision_id: Option<&str>,
    ) -> impl Future<Output = CloudResult<Alias>> + Send;
    /// ListVersionsByFunction: every published version (not `$LATEST`), oldest first. Images
    /// are not resolved here; the ledger in each Description names them.
    fn list_versions(
        &self,
        function: &str,
    ) -> impl Future<Output = CloudResult<Vec<Version>>> + Send;
    /// AddPermission for API Gateway to invoke `function:alias` from `source_arn`, under a
    /// fixed statement id (a fresh id per deploy would grow the 20 KB policy until deploys
    /// fail); Conflict when that statement exists.
    fn add_permission(
        &self,
        function: &str,
        alias: &str,
        statement_id: &str,
        source_arn: &str,
    ) -> impl Future<Output = CloudResult<()>> + Send;
    fn delete_function(&self, function: &str) -> impl Future<Output = CloudResult<()>> + Send;
    /// GetPolicy of `function:alias`: the statement ids it holds (none when it has no policy).
    fn permission_statements(
        &self,
        function: &str,
        alias: &str,
    ) -> impl Future<Output = CloudResult<Vec<String>>> + Send;
}

/// API Gateway: a REST API, its routes and its stages.
pub trait Apis: Send + Sync {
    /// The REST API with this name (NotFound when there is none).
    fn find_rest_api(&self, name: &str) -> impl Future<Output = CloudResult<RestApi>> + Send;
    fn create_rest_api(&self, name: &str) -> impl Future<Output = CloudResult<RestApi>> + Send;
    /// Every resource with its methods and their integrations.
    fn get_routes(&self, api_id: &str) -> impl Future<Output = CloudResult<Vec<Route>>> + Send;
    /// `ANY /` and `ANY /{proxy+}` as AWS_PROXY integrations of `function_arn`, qualified per
    /// stage by its `alias` variable.
    fn put_lambda_proxy_routes(
        &self,
        api: &RestApi,
        function_arn: &str,
    ) -> impl Future<Output = CloudResult<()>> + Send;
    /// CreateDeployment (a snapshot of the routes); returns its id. AWS allows one per 5 s.
    fn create_deployment(
        &self,
        api_id: &str,
        description: &str,
    ) -> impl Future<Output = CloudResult<String>> + Send;
    /// CreateStage; Conflict when it exists, atomically (the deploy lock relies on it).
    fn create_stage(
        &self,
        api_id: &str,
        stage: &Stage,
    ) -> impl Future<Output = CloudResult<Stage>> + Send;
    fn get_stage(
        &self,
        api_id: &str,
        name: &str,
    ) -> impl Future<Output = CloudResult<Stage>> + Send;
    fn delete_stage(
        &self,
        api_id: &str,
        name: &str,
    ) -> impl Future<Output = CloudResult<()>> + Send;
    fn delete_rest_api(&self, api_id: &str) -> impl Future<Output = CloudResult<()>> + Send;
}

/// The name of the function role's inline policy (what it may do: write its logs).
pub const ROLE_POLICY: &str = "logs";

/// The account around them: identity, the image repository and the function's role.
pub trait Account: Send + Sync {
    fn account_id(&self) -> impl Future<Output = CloudResult<String>> + Send;
    /// DescribeRepositories, or CreateRepository when missing (provision only).
    fn ensure_repository(&self, name: &str)
    -> impl Future<Output = CloudResult<Repository>> + Send;
    /// DescribeRepositories: the repository, NotFound when provision has not created it.
    fn repository(&self, name: &str) -> impl Future<Output = CloudResult<Repository>> + Send;
    /// SetRepositoryPolicy: Lambda may pull the images of `function_arn` (and its versions).
    /// Lambda adds this itself only at CreateFunction, best effort, and only when the caller
    /// may get and set the repository policy
    /// (<https://docs.aws.amazon.com/lambda/latest/dg/images-create.html#gettingstarted-images-permissions>).
    fn allow_lambda_pull(
        &self,
        repository: &str,
        function_arn: &str,
    ) -> impl Future<Output = CloudResult<()>> + Send;
    /// Where the repositories' registry answers, and its credentials.
    fn registry_access(&self) -> impl Future<Output = CloudResult<RegistryAccess>> + Send;
    /// GetRole, or CreateRole trusted by Lambda when missing; then the role's one inline
    /// policy ([`ROLE_POLICY`]) when it has none. Returns the role ARN.
    fn ensure_function_role(
        &self,
        name: &str,
        policy: &str,
    ) -> impl Future<Output = CloudResult<String>> + Send;
    /// DeleteRepository with its images.
    fn delete_repository(&self, name: &str) -> impl Future<Output = CloudResult<()>> + Send;
    /// DeleteRolePolicy (IAM refuses to delete a role with policies), then DeleteRole.
    fn delete_function_role(&self, name: &str) -> impl Future<Output = CloudResult<()>> + Send;
}

/// What `prune` and provision's image rule need: deleting a published version and an image,
/// and the repository's lifecycle policy.
pub trait Pruning: Send + Sync {
    /// DeleteFunction of one published version (`Qualifier=N`); Lambda refuses one an alias
    /// points at (weights included), which prune never asks for anyway.
    fn delete_version(
        &self,
        function: &str,
        version: &str,
    ) -> impl Future<Output = CloudResult<()>> + Send;
    /// BatchDeleteImage of one image by digest; its tags go with it.
    fn delete_image(
        &self,
        repository: &str,
        digest: &str,
    ) -> impl Future<Output = CloudResult<()>> + Send;
    /// GetLifecyclePolicy: the repository's lifecycle policy, `None` when it has none.
    fn lifecycle_policy(
        &self,
        repository: &str,
    ) -> impl Future<Output = CloudResult<Option<String>>> + Send;
    /// PutLifecyclePolicy: replaces the repository's lifecycle policy.
    fn put_lifecycle_policy(
        &self,
        repository: &str,
        policy: &str,
    ) -> impl Future<Output = CloudResult<()>> + Send;
}

/// Which cloud to talk to.
#[derive(Debug, Clone)]
pub enum Target {
    /// Real AWS through the default credential chain (env, profile, SSO, credential_process,
    /// OIDC web identity), in deploy.toml's `region`: every ARN, URL and policy names it, so
    /// the SDK uses it too, whatever the environment or profile says.
    Aws { region: String },
    /// The local cloud at `endpoint_url` (its front), with the local cloud's credentials.
    Local {
        endpoint_url: String,
        region: String,
    },
}

/// The SDK clients for one target; implements [`Functions`], [`Apis`] and [`Account`].
pub struct SdkCloud {
    lambda: aws_sdk_lambda::Client,
    apigateway: aws_sdk_apigateway::Client,
    ecr: aws_sdk_ecr::Client,
    iam: aws_sdk_iam::Client,
    sts: aws_sdk_sts::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
    region: String,
    writes: WriteMeter,
}

/// Bounds on every SDK call: connecting, one attempt, and all attempts with their retries.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
const ATTEMPT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
const OPERATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(90);

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
            .http_client(crate::tls::sdk_http_client())
            .timeout_config(timeouts);
        let sdk = match target {
            Target::Aws { region } => {
                let elsewhere = audit::environment_region()
                    .await
                    .filter(|other| *other != region);
                if let Some(other) = elsewhere {
                    eprintln!(
                        "note: using deploy.toml's region {region}, not {other} from the environment or profile"
                    );
                }
                loader.region(Region::new(region)).load().await
            }
            Target::Local {
                endpoint_url,
                region,
            } => {
                loader
                    .endpoint_url(endpoint_url)
                    .region(Region::new(region))
                    .credentials_provider(Credentials::new(
                        "local",
                        "local",
                        None,
                        None,
                        "local-cloud",
                    ))
                    .load()
                    .await
            }
        };
        let region = sdk
            .region()
            .map(ToString::to_string)
            .context("no AWS region: set AWS_REGION (or a profile's region)")?;
        let writes = WriteMeter::default();
        let fail = fault::FailOperation::from_env();
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
            writes,
        })
    }

    /// How many write calls these clients, and the registry metered with them, have sent so far.
    pub fn write_calls(&self) -> usize {
        self.writes.count()
    }

    /// The meter of these clients' writes, for the registry client to count its own on.
    pub fn write_meter(&self) -> WriteMeter {
        self.writes.clone()
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// What a rollout watches: CloudWatch, through these clients' configuration.
    pub fn traffic(&self) -> CloudWatch {
        CloudWatch(self.cloudwatch.clone())
    }
}

#[cfg(test)]
mod tls_tests;

#[cfg(test)]
mod tests {
    use super::{ATTEMPT_TIMEOUT, CONNECT_TIMEOUT, OPERATION_TIMEOUT, SdkCloud, Target};

    #[tokio::test]
    async fn every_client_bounds_its_calls() {
        let cloud = SdkCloud::connect(Target::Local {
            endpoint_url: "http://127.0.0.1:9".into(),
            region: "us-east-1".into(),
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
