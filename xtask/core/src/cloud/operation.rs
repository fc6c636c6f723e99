//! Every cloud operation the tooling performs, with the IAM action it needs: `iam-policy` is
//! generated from this list, and errors name the action so a denied call says what to grant.
use std::fmt;

/// Each variant is named as AWS names the operation (and the SDK's metadata does): `FromStr`
/// reads that name back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::VariantArray, strum::EnumString)]
pub enum Operation {
    GetCallerIdentity,
    DescribeRepositories,
    CreateRepository,
    SetRepositoryPolicy,
    GetAuthorizationToken,
    GetRole,
    CreateRole,
    CreateFunction,
    UpdateFunctionCode,
    UpdateFunctionConfiguration,
    PublishVersion,
    GetFunction,
    GetAlias,
    CreateAlias,
    UpdateAlias,
    GetRestApis,
    CreateRestApi,
    GetResources,
    CreateResource,
    PutMethod,
    PutIntegration,
    CreateDeployment,
    CreateStage,
    GetStage,
    DeleteStage,
    ListVersionsByFunction,
    AddPermission,
    DeleteFunction,
    DeleteRestApi,
    DeleteRepository,
    DeleteRole,
    GetPolicy,
    GetRolePolicy,
    PutRolePolicy,
    DeleteRolePolicy,
    // What `doctor` reads (an operator's checks, granted to no generated policy).
    ListOpenIDConnectProviders,
    GetOpenIDConnectProvider,
    ListRolePolicies,
    ListAttachedRolePolicies,
    /// IAM's GetPolicy (a managed policy); Lambda's GetPolicy is [`Operation::GetPolicy`].
    GetManagedPolicy,
    GetPolicyVersion,
    GetRepositoryPolicy,
    BatchDeleteImage,
    GetLifecyclePolicy,
    PutLifecyclePolicy,
    // What a rollout watches (CloudWatch).
    GetMetricData,
    DescribeAlarms,
}

impl Operation {
    /// Every operation, in declaration order (derived: a new variant cannot be left out).
    pub const ALL: &[Operation] = <Self as strum::VariantArray>::VARIANTS;

    /// The IAM action the call is authorised by; `None` when no permission is needed
    /// (STS GetCallerIdentity is always allowed:
    /// <https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html>).
    /// API Gateway authorises its REST API by HTTP verb on the resource path
    /// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-iam-policy-examples.html>).
    pub const fn iam_action(self) -> Option<&'static str> {
        Some(match self {
            Self::GetCallerIdentity => return None,
            Self::DescribeRepositories => "ecr:DescribeRepositories",
            Self::CreateRepository => "ecr:CreateRepository",
            Self::SetRepositoryPolicy => "ecr:SetRepositoryPolicy",
            Self::GetAuthorizationToken => "ecr:GetAuthorizationToken",
            Self::GetRole => "iam:GetRole",
            Self::CreateRole => "iam:CreateRole",
            Self::CreateFunction => "lambda:CreateFunction",
            Self::UpdateFunctionCode => "lambda:UpdateFunctionCode",
            Self::UpdateFunctionConfiguration => "lambda:UpdateFunctionConfiguration",
            Self::PublishVersion => "lambda:PublishVersion",
            Self::GetFunction => "lambda:GetFunction",
            Self::GetAlias => "lambda:GetAlias",
            Self::CreateAlias => "lambda:CreateAlias",
            Self::UpdateAlias => "lambda:UpdateAlias",
            Self::GetRestApis | Self::GetResources | Self::GetStage => "apigateway:GET",
            Self::CreateRestApi
            | Self::CreateResource
            | Self::CreateDeployment
            | Self::CreateStage => "apigateway:POST",
            Self::PutMethod | Self::PutIntegration => "apigateway:PUT",
            Self::DeleteStage | Self::DeleteRestApi => "apigateway:DELETE",
            Self::ListVersionsByFunction => "lambda:ListVersionsByFunction",
            Self::AddPermission => "lambda:AddPermission",
            Self::DeleteFunction => "lambda:DeleteFunction",
            Self::DeleteRepository => "ecr:DeleteRepository",
            Self::DeleteRole => "iam:DeleteRole",
            Self::GetPolicy => "lambda:GetPolicy",
            Self::GetRolePolicy => "iam:GetRolePolicy",
            Self::PutRolePolicy => "iam:PutRolePolicy",
            Self::DeleteRolePolicy => "iam:DeleteRolePolicy",
            Self::ListOpenIDConnectProviders => "iam:ListOpenIDConnectProviders",
            Self::GetOpenIDConnectProvider => "iam:GetOpenIDConnectProvider",
            Self::ListRolePolicies => "iam:ListRolePolicies",
            Self::ListAttachedRolePolicies => "iam:ListAttachedRolePolicies",
            Self::GetManagedPolicy => "iam:GetPolicy",
            Self::GetPolicyVersion => "iam:GetPolicyVersion",
            Self::GetRepositoryPolicy => "ecr:GetRepositoryPolicy",
            Self::BatchDeleteImage => "ecr:BatchDeleteImage",
            Self::GetLifecyclePolicy => "ecr:GetLifecyclePolicy",
            Self::PutLifecyclePolicy => "ecr:PutLifecyclePolicy",
            Self::GetMetricData => "cloudwatch:GetMetricData",
            Self::DescribeAlarms => "cloudwatch:DescribeAlarms",
        })
    }

    /// Whether the call changes anything: what `bench` counts and `--dry-run` never makes.
    pub const fn is_write(self) -> bool {
        !matches!(
            self,
            Self::GetCallerIdentity
                | Self::GetMetricData
                | Self::DescribeAlarms
                | Self::DescribeRepositories
                | Self::GetAuthorizationToken
                | Self::GetRole
                | Self::GetFunction
                | Self::GetAlias
                | Self::GetRestApis
                | Self::GetResources
                | Self::GetStage
                | Self::ListVersionsByFunction
                | Self::GetPolicy
                | Self::GetRolePolicy
                | Self::GetLifecyclePolicy
                | Self::ListOpenIDConnectProviders
                | Self::GetOpenIDConnectProvider
                | Self::ListRolePolicies
                | Self::ListAttachedRolePolicies
                | Self::GetManagedPolicy
                | Self::GetPolicyVersion
                | Self::GetRepositoryPolicy
        )
    }

    /// Whether only `doctor` makes the call: an operator checking the set-up, never the deploy
    /// role, so no generated policy grants it.
    pub const fn doctor_only(self) -> bool {
        matches!(
            self,
            Self::ListOpenIDConnectProviders
                | Self::GetOpenIDConnectProvider
                | Self::ListRolePolicies
                | Self::ListAttachedRolePolicies
                | Self::GetManagedPolicy
                | Self::GetPolicyVersion
        )
    }
}

/// What an IAM statement's Resource is scoped to; the ARNs themselves come from deploy.toml.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// ECR's GetAuthorizationToken authorises no resource: it needs `*`.
    Any,
    Repository,
    /// The function, its versions and aliases.
    Function,
    /// The function's resource policy, to which only API Gateway may be added (AddPermission,
    /// conditioned on the principal it grants).
    InvokedByApiGateway,
    /// The role the function runs as.
    FunctionRole,
    /// The function role, handed to Lambda only (PassRole, conditioned on the service).
    PassFunctionRole,
    /// The region's REST API collection (`/restapis`): listing the APIs, creating one.
    RestApis,
    /// One REST API and everything in it: what only provision and destroy touch.
    RestApi,
    /// The API's stage collection (`/restapis/ID/stages`), where CreateStage posts.
    Stages,
    /// Any one stage of the API, to read it.
    Stage,
    /// The blue stage only: deleting it releases the deploy lock; green is never deleted.
    BlueStage,
}

/// Actions the tooling needs that no SDK call above declares: the image push goes over the OCI
/// protocol, and Lambda checks the caller's rights when it is handed a role or an image.
/// `(action, scope, needed by provision only)`.
pub const IMPLIED_ACTIONS: &[(&str, Scope, bool)] = &[
    // Pushing and tagging an image (image/registry.rs) and checking one exists.
    ("ecr:BatchCheckLayerAvailability", Scope::Repository, false),
    ("ecr:InitiateLayerUpload", Scope::Repository, false),
    ("ecr:UploadLayerPart", Scope::Repository, false),
    ("ecr:CompleteLayerUpload", Scope::Repository, false),
    ("ecr:PutImage", Scope::Repository, false),
    ("ecr:BatchGetImage", Scope::Repository, false),
    // CreateFunction hands the function its role.
    ("iam:PassRole", Scope::PassFunctionRole, true),
];

/// What `deploy --from` asks of the environment it promotes from (`pipeline::promotion::take`):
/// the caller's account (checked against the environment's), green, the version green serves,
/// the repository and the registry's token; the image and its verification tag are read over
/// the distribution API ([`PULL_ACTIONS`]). `iam-policy --promotion-source` grants these alone;
/// its test runs `take` against a source that fails on any other call.
pub const PROMOTION_SOURCE_READS: &[Operation] = &[
    Operation::GetCallerIdentity,
    Operation::GetAlias,
    Operation::GetFunction,
    Operation::DescribeRepositories,
    Operation::GetAuthorizationToken,
];

/// Reading an image over the distribution API: a manifest, by tag or digest (HEAD, the
/// verification tag's lookup, included), is ecr:BatchGetImage, a blob ecr:GetDownloadUrlForLayer
/// (<https://docs.aws.amazon.com/AmazonECR/latest/userguide/docker-pull-ecr-image.html>). No
/// BatchCheckLayerAvailability: that is a blob's HEAD, which only a push asks.
pub const PULL_ACTIONS: &[(&str, Scope)] = &[
    ("ecr:BatchGetImage", Scope::Repository),
    ("ecr:GetDownloadUrlForLayer", Scope::Repository),
];

impl Operation {
    /// The resource the call acts on, for the policy's Resource.
    pub const fn scope(self) -> Scope {
        match self {
            // GetMetricData authorises no resource
            // (<https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html>);
            // DescribeAlarms, which asks for composite alarms too, answers those only to a
            // grant on `*`: "You can't return information about composite alarms if your
            // permission has a narrower scope"
            // (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html>;
            // aws-audit-3 N3).
            Self::GetCallerIdentity
            | Self::GetAuthorizationToken
            | Self::GetMetricData
            | Self::DescribeAlarms => Scope::Any,
            Self::DescribeRepositories
            | Self::CreateRepository
            | Self::SetRepositoryPolicy
            | Self::DeleteRepository
            | Self::GetRepositoryPolicy
            | Self::BatchDeleteImage
            | Self::GetLifecyclePolicy
            | Self::PutLifecyclePolicy => Scope::Repository,
            Self::GetRole
            | Self::CreateRole
            | Self::DeleteRole
            | Self::GetRolePolicy
            | Self::PutRolePolicy
            | Self::DeleteRolePolicy => Scope::FunctionRole,
            // The deploy role and its policies, the account's OIDC providers: doctor's reads.
            Self::ListOpenIDConnectProviders
            | Self::GetOpenIDConnectProvider
            | Self::ListRolePolicies
            | Self::ListAttachedRolePolicies
            | Self::GetManagedPolicy
            | Self::GetPolicyVersion => Scope::Any,
            Self::CreateFunction
            | Self::UpdateFunctionCode
            | Self::UpdateFunctionConfiguration
            | Self::PublishVersion
            | Self::GetFunction
            | Self::GetAlias
            | Self::CreateAlias
            | Self::UpdateAlias
            | Self::ListVersionsByFunction
            | Self::DeleteFunction
            | Self::GetPolicy => Scope::Function,
            Self::AddPermission => Scope::InvokedByApiGateway,
            // API Gateway authorises by HTTP verb on the path the call addresses.
            Self::GetRestApis | Self::CreateRestApi => Scope::RestApis,
            Self::GetResources
            | Self::CreateResource
            | Self::PutMethod
            | Self::PutIntegration
            | Self::CreateDeployment
            | Self::DeleteRestApi => Scope::RestApi,
            Self::CreateStage => Scope::Stages,
            Self::GetStage => Scope::Stage,
            Self::DeleteStage => Scope::BlueStage,
        }
    }

    /// Whether only `provision` and `destroy` make the call; deploy, rollback and status never
    /// do, so the deploy role is granted it only with `iam-policy --provision`.
    pub const fn provision_only(self) -> bool {
        matches!(
            self,
            Self::CreateRepository
                | Self::CreateRole
                | Self::GetRole
                | Self::GetRepositoryPolicy
                | Self::SetRepositoryPolicy
                | Self::CreateFunction
                | Self::CreateRestApi
                | Self::GetResources
                | Self::CreateResource
                | Self::PutMethod
                | Self::PutIntegration
                | Self::CreateDeployment
                | Self::AddPermission
                | Self::GetPolicy
                | Self::DeleteFunction
                | Self::DeleteRestApi
                | Self::DeleteRepository
                | Self::DeleteRole
                | Self::GetRolePolicy
                | Self::PutRolePolicy
                | Self::DeleteRolePolicy
                | Self::BatchDeleteImage
                | Self::GetLifecyclePolicy
                | Self::PutLifecyclePolicy
        )
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::Operation;

    #[test]
    fn every_operation_but_get_caller_identity_names_its_iam_action() {
        for op in Operation::ALL {
            let action = op.iam_action();
            assert_eq!(
                action.is_none(),
                *op == Operation::GetCallerIdentity,
                "{op}"
            );
            if let Some(action) = action {
                assert!(action.split_once(':').is_some_and(|(service, verb)| {
                    ["ecr", "iam", "lambda", "apigateway", "cloudwatch"].contains(&service)
                        && !verb.is_empty()
                }));
            }
        }
    }
}
