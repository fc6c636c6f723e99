//! The generated policies: every operation's action, scoped to the stack, nothing more.
use serde_json::Value;

use super::{ADMINISTRATOR_ONLY, matches, permissions_policy, trust_policy};
use bgd_core::{cloud::Operation, config::Config};

const ACCOUNT: &str = "123456789012";

fn statements(provision: bool) -> Vec<Value> {
    let config = Config::load().unwrap();
    let policy = permissions_policy(&config, ACCOUNT, provision, None);
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
    let policy = permissions_policy(&config, ACCOUNT, false, Some("a1b2c3"));
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
