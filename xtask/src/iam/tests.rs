//! The generated policies: every operation's action, scoped to the stack, nothing more.
use serde_json::Value;

use super::{
    ADMINISTRATOR_ONLY, account, matches, permissions_policy, promotion_source_policy, trust_policy,
};
use bgd_core::{
    cloud::{IMPLIED_ACTIONS, Operation, PULL_ACTIONS},
    config::Config,
    setup,
};

const ACCOUNT: &str = "123456789012";

fn statements(provision: bool) -> Vec<Value> {
    let config = Config::load().unwrap();
    let policy = permissions_policy(std::slice::from_ref(&config), ACCOUNT, provision, None);
    policy["Statement"].as_array().unwrap().clone()
}

fn actions(statement: &Value) -> Vec<&str> {
    let actions = statement["Action"].as_array().unwrap();
    actions.iter().map(|a| a.as_str().unwrap()).collect()
}

/// The actions AWS authorises on no resource (`*` is the only Resource they take).
const UNSCOPED: &[&str] = &[
    "cloudwatch:DescribeAlarms",
    "cloudwatch:GetMetricData",
    "ecr:GetAuthorizationToken",
];

#[test]
fn only_actions_that_authorise_no_resource_are_granted_on_any_resource() {
    for provision in [false, true] {
        for statement in statements(provision) {
            let resources = statement["Resource"].as_array().unwrap();
            for resource in resources.iter().map(|r| r.as_str().unwrap()) {
                let scoped = resource.starts_with("arn:aws:")
                    && (resource.contains(ACCOUNT) || resource.contains(":apigateway:"));
                assert!(scoped || actions(&statement) == UNSCOPED, "{statement}");
            }
        }
    }
}

#[test]
fn every_declared_action_is_granted_and_provision_only_ones_only_with_provision() {
    let deploy: Vec<String> = statements(false)
        .iter()
        .flat_map(|s| actions(s).into_iter().map(String::from).collect::<Vec<_>>())
        .collect();
    let full: Vec<String> = statements(true)
        .iter()
        .flat_map(|s| actions(s).into_iter().map(String::from).collect::<Vec<_>>())
        .collect();
    for op in Operation::ALL {
        let Some(action) = op.iam_action() else {
            continue;
        };
        let granted = full.iter().any(|a| a == action);
        if op.doctor_only() {
            // An operator's reads, in no generated policy.
            assert!(!granted, "{op}");
            continue;
        }
        assert_eq!(granted, !ADMINISTRATOR_ONLY.contains(op), "{op}");
    }
    for action in [
        "lambda:CreateFunction",
        "iam:PassRole",
        "ecr:CreateRepository",
        "lambda:DeleteFunction",
    ] {
        assert!(!deploy.iter().any(|a| a == action), "{action}");
        assert!(full.iter().any(|a| a == action), "{action}");
    }
    assert!(deploy.iter().any(|a| a == "lambda:UpdateAlias"));
}

/// The statements that allow `action` on `resource`, whatever their conditions.
fn granting<'p>(policy: &'p [Value], action: &str, resource: &str) -> Vec<&'p Value> {
    let any = |v: &Value, s: &str| match v {
        Value::String(p) => matches(p, s),
        Value::Array(ps) => ps.iter().any(|p| matches(p.as_str().unwrap(), s)),
        _ => panic!("{v}"),
    };
    policy
        .iter()
        .filter(|st| st["Effect"] == "Allow")
        .filter(|st| any(&st["Action"], action) && any(&st["Resource"], resource))
        .collect()
}

const API: &str = "arn:aws:apigateway:us-east-1::/restapis";

/// A rollout's DescribeAlarms asks for composite alarms too, which CloudWatch answers only to a
/// grant on `*` (aws-audit-3 N3): one on the region's alarm ARNs stopped every deploy with a
/// composite alarm in `[rollout] alarms`.
#[test]
fn describe_alarms_is_granted_on_any_resource_for_composite_alarms() {
    assert!(!granting(&statements(false), "cloudwatch:DescribeAlarms", "*").is_empty());
}

#[test]
fn the_deploy_role_reaches_the_blue_stage_and_no_rest_api_create_or_delete() {
    let deploy = statements(false);
    let allowed =
        |action: &str, path: &str| !granting(&deploy, action, &format!("{API}{path}")).is_empty();
    assert!(allowed("apigateway:GET", ""), "finding the API by name");
    assert!(allowed("apigateway:GET", "/a1b2c3/stages/green"));
    assert!(
        allowed("apigateway:POST", "/a1b2c3/stages"),
        "CreateStage blue"
    );
    assert!(allowed("apigateway:DELETE", "/a1b2c3/stages/blue"));
    assert!(!allowed("apigateway:POST", ""), "CreateRestApi");
    assert!(!allowed("apigateway:DELETE", "/a1b2c3"), "DeleteRestApi");
    assert!(
        !allowed("apigateway:DELETE", "/a1b2c3/stages/green"),
        "the live stage"
    );
    for path in ["/a1b2c3", "/a1b2c3/resources/r1", "/a1b2c3/deployments"] {
        for verb in ["POST", "PUT", "PATCH", "DELETE"] {
            assert!(
                !allowed(&format!("apigateway:{verb}"), path),
                "{verb} {path}"
            );
        }
    }
    let repository = "arn:aws:ecr:us-east-1:123456789012:repository/bgd";
    assert!(granting(&deploy, "ecr:CreateRepository", repository).is_empty());
    assert!(granting(&deploy, "iam:PassRole", "arn:aws:iam::123456789012:role/x").is_empty());
}

#[test]
fn an_api_id_narrows_api_gateway_to_that_api() {
    let config = Config::load().unwrap();
    let policy = permissions_policy(
        std::slice::from_ref(&config),
        ACCOUNT,
        false,
        Some("a1b2c3"),
    );
    let deploy = policy["Statement"].as_array().unwrap();
    for (action, path) in [
        ("apigateway:GET", "/a1b2c3/stages/green"),
        ("apigateway:POST", "/a1b2c3/stages"),
        ("apigateway:DELETE", "/a1b2c3/stages/blue"),
    ] {
        assert!(!granting(deploy, action, &format!("{API}{path}")).is_empty());
        let other = path.replace("a1b2c3", "other");
        assert!(granting(deploy, action, &format!("{API}{other}")).is_empty());
    }
}

#[test]
fn the_provision_policy_cannot_grant_itself_more() {
    let provision = statements(true);
    let role = format!("arn:aws:iam::{ACCOUNT}:role/bgd-lambda");
    for action in [
        "iam:PutRolePolicy",
        "iam:AttachRolePolicy",
        "iam:CreateRole",
        "iam:UpdateAssumeRolePolicy",
        "iam:PutRolePermissionsBoundary",
        "iam:DeleteRolePermissionsBoundary",
        "iam:CreatePolicyVersion",
    ] {
        let grants = granting(&provision, action, &role);
        assert!(
            grants.is_empty(),
            "{action} on a role it can pass: {grants:?}"
        );
    }
    let passes = granting(&provision, "iam:PassRole", &role);
    assert!(!passes.is_empty());
    for statement in passes {
        assert_eq!(
            statement["Condition"]["StringEquals"]["iam:PassedToService"], "lambda.amazonaws.com",
            "PassRole only to Lambda: {statement}"
        );
    }
}

/// security-audit-3 #22: AddPermission without a condition let the role grant any account or
/// service the right to invoke the function.
#[test]
fn the_provision_policy_adds_to_the_functions_policy_for_api_gateway_alone() {
    let provision = statements(true);
    let function = format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:bgd:green");
    let grants = granting(&provision, "lambda:AddPermission", &function);
    assert!(!grants.is_empty());
    for statement in grants {
        assert_eq!(
            statement["Condition"]["StringEquals"]["lambda:Principal"], "apigateway.amazonaws.com",
            "AddPermission only for API Gateway: {statement}"
        );
        assert_eq!(actions(statement), ["lambda:AddPermission"], "{statement}");
    }
}

#[test]
fn trust_is_restricted_to_one_repository_environment() {
    let production = ["production".to_owned()];
    let policy = trust_policy(ACCOUNT, "octo/app", &production).unwrap();
    let condition = &policy["Statement"][0]["Condition"]["StringEquals"];
    assert_eq!(
        condition["token.actions.githubusercontent.com:sub"],
        "repo:octo/app:environment:production"
    );
    assert_eq!(
        condition["token.actions.githubusercontent.com:aud"],
        "sts.amazonaws.com"
    );
    assert!(trust_policy(ACCOUNT, "octo/*", &production).is_err());
    assert!(trust_policy(ACCOUNT, "octo/app", &["prod*".to_owned()]).is_err());
    let gate = ["production".to_owned(), "production-approval".to_owned()];
    let policy = trust_policy(ACCOUNT, "octo/app", &gate).unwrap();
    assert_eq!(
        policy["Statement"][0]["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"],
        serde_json::json!([
            "repo:octo/app:environment:production",
            "repo:octo/app:environment:production-approval"
        ])
    );
}

/// The workspace's deploy.toml with staging in one account and production in another, in two
/// regions, as an environment in each of its regions sees it.
pub(super) fn environment(name: &str) -> Vec<Config> {
    let text = std::fs::read_to_string(setup::workspace_root().join("deploy.toml")).unwrap();
    let config = Config::parse(&format!("{text}\n{ENVIRONMENTS}")).unwrap();
    let regions = config.regions_of(name).unwrap();
    regions
        .iter()
        .map(|region| config.in_environment(name, region).unwrap())
        .collect()
}

const ENVIRONMENTS: &str = r#"
[environments.staging]
account = "111111111111"
profile = "bgd-staging"
[environments.production]
account = "222222222222"
regions = ["eu-west-1", "us-west-2"]
profile = "bgd-production"
name = "shop"
"#;

#[test]
fn an_environments_policy_names_its_stack_in_every_region_of_its_own_account() {
    let production = environment("production");
    let policy = permissions_policy(&production, "222222222222", false, None);
    let statements = policy["Statement"].as_array().unwrap();
    for region in ["eu-west-1", "us-west-2"] {
        let function = format!("arn:aws:lambda:{region}:222222222222:function:shop:green");
        assert!(!granting(statements, "lambda:UpdateAlias", &function).is_empty());
        let repository = format!("arn:aws:ecr:{region}:222222222222:repository/shop");
        assert!(!granting(statements, "ecr:PutImage", &repository).is_empty());
        let blue = format!("arn:aws:apigateway:{region}::/restapis/a1b2c3/stages/blue");
        assert!(!granting(statements, "apigateway:DELETE", &blue).is_empty());
    }
    // Not the shared name, another region or another account.
    for function in [
        "arn:aws:lambda:eu-west-1:222222222222:function:bgd:green",
        "arn:aws:lambda:us-east-1:222222222222:function:shop:green",
        "arn:aws:lambda:eu-west-1:111111111111:function:shop:green",
    ] {
        assert!(
            granting(statements, "lambda:UpdateAlias", function).is_empty(),
            "{function}"
        );
    }
}

#[test]
fn an_environments_account_is_its_own_and_another_is_refused() {
    let staging = environment("staging");
    let placement = staging[0].placement.as_ref();
    assert_eq!(account(placement, None).unwrap(), "111111111111");
    assert_eq!(
        account(placement, Some("111111111111")).unwrap(),
        "111111111111"
    );
    let err = account(placement, Some("222222222222"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("environment staging is account 111111111111"),
        "{err}"
    );
    assert_eq!(account(None, Some(ACCOUNT)).unwrap(), ACCOUNT);
    assert!(account(None, None).is_err());
    assert!(account(None, Some("1234")).is_err());
}

/// The role another environment's deploy job reads staging with (`deploy --from staging`):
/// green, the version it serves, the repository, the verification tag and the image; nothing
/// it could change staging with, not even a tag.
#[test]
fn the_promotion_source_reads_green_and_pulls_its_image_and_writes_nothing() {
    let staging = environment("staging");
    let policy = promotion_source_policy(&staging, "111111111111");
    let statements = policy["Statement"].as_array().unwrap();
    let function = "arn:aws:lambda:us-east-1:111111111111:function:bgd";
    let repository = "arn:aws:ecr:us-east-1:111111111111:repository/bgd";
    for (action, resource) in [
        ("lambda:GetAlias", format!("{function}:green")),
        ("lambda:GetFunction", format!("{function}:7")),
        ("ecr:DescribeRepositories", repository.to_owned()),
        ("ecr:GetAuthorizationToken", "*".to_owned()),
        ("ecr:BatchGetImage", repository.to_owned()),
        ("ecr:GetDownloadUrlForLayer", repository.to_owned()),
    ] {
        assert!(
            !granting(statements, action, &resource).is_empty(),
            "{action} on {resource}"
        );
    }
    let granted: Vec<&str> = statements.iter().flat_map(actions).collect();
    let writes = Operation::ALL
        .iter()
        .filter(|op| op.is_write())
        .filter_map(|op| op.iam_action());
    let pushes = IMPLIED_ACTIONS.iter().map(|(action, ..)| *action);
    for action in writes.chain(pushes) {
        let read_too = PULL_ACTIONS.iter().any(|(pull, _)| *pull == action);
        assert!(
            read_too || !granted.contains(&action),
            "{action}: the promotion source writes nothing"
        );
    }
    // Only reads the deploy role is granted too (beside the pull's blob read), and no
    // CloudWatch, API Gateway or IAM at all.
    let deploy = permissions_policy(&staging, "111111111111", false, None);
    let deploy: Vec<&str> = deploy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(actions)
        .collect();
    for action in &granted {
        assert!(
            deploy.contains(action) || *action == "ecr:GetDownloadUrlForLayer",
            "{action}"
        );
        assert!(action.starts_with("lambda:Get") || action.starts_with("ecr:"));
    }
    assert_eq!(granted.len(), 6, "{granted:?}");
}
