//! The boundary to AWS, in our own types: small traits name every operation the tooling
//! performs ([`Functions`], [`Apis`], [`Account`], [`Pruning`]), with their domain errors
//! ([`CloudError`]) and the list of operations with their IAM actions ([`Operation`]).
//! `bgd-aws` implements them on AWS (and on the local cloud, whose front answers as AWS does);
//! `bgd-sim` in memory.
mod error;
mod operation;
mod policy;
mod types;

use std::future::Future;

pub use error::{CloudError, CloudResult, ErrorKind, absent_as_none};
pub use operation::{IMPLIED_ACTIONS, Operation, PROMOTION_SOURCE_READS, PULL_ACTIONS, Scope};
pub use policy::{LAMBDA_PULL, with_lambda_pull};
pub use types::{
    Alias, AliasTarget, FunctionSpec, ImageRef, Integration, RegistryAccess, Repository, RestApi,
    Route, Settings, Stage, TOKEN_VARIABLE, Version, VersionState,
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

/// Lets Lambda assume the function's role
/// (<https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html>).
pub const LAMBDA_TRUST_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

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
    Aws { region: String, reach: Reach },
    /// The local cloud at `endpoint_url` (its front), with the local cloud's credentials:
    /// those of `account` (12 digits), or of its default account when `None`; an
    /// environment's `reach` applies there as on AWS.
    Local {
        endpoint_url: String,
        region: String,
        account: Option<String>,
        reach: Reach,
    },
}

/// How deploy.toml's environment is reached: the profile to read, or a role to assume from the
/// credentials found; neither, the credentials found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    pub profile: Option<String>,
    pub role_arn: Option<String>,
}
