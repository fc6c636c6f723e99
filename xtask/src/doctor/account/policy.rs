//! The deploy role's permissions: every grant of the generated policy, and nothing that reaches
//! past it.
use super::super::{Check, grants};
use super::Role;
use crate::iam;

/// Every action on every resource of the generated deploy policy must be allowed.
pub(super) fn permissions(role: &Role) -> Check {
    const NAME: &str = "deploy role policy";
    let (grants, account) = (role.grants, role.account);
    let required = iam::permissions_policy(
        std::slice::from_ref(role.config),
        account,
        false,
        role.api_id,
    );
    let mut missing = Vec::new();
    let mut checked = 0;
    for statement in grants::statements(&required) {
        for action in grants::strings(&statement["Action"]) {
            for resource in grants::strings(&statement["Resource"]) {
                checked += 1;
                if let Some(why) = grants::refusal(&grants.policies, action, resource) {
                    missing.push(format!("{action} on {resource} ({why})"));
                }
            }
        }
    }
    let sources: Vec<&str> = grants.policies.iter().map(|(s, _)| s.as_str()).collect();
    if missing.is_empty() {
        return Check::ok(
            NAME,
            format!("{checked} grants of `iam-policy` all allowed by {sources:?}"),
        );
    }
    Check::finding(
        NAME,
        format!(
            "{} of {checked} grants missing: {}",
            missing.len(),
            missing.join(", ")
        ),
        put_generated_policy(role),
    )
}

/// Grants beyond what `iam-policy` generates, each a sign of more: a role that may make roles or
/// pass them, act on another function or repository, delete the stack's function, or (once
/// provision made the API) touch another REST API. The permission check reports only what is
/// missing, so AdministratorAccess, or the policy made before provision with `*` for the API,
/// reported "ok" (security-audit-3 N11).
pub(super) fn reach(role: &Role) -> Check {
    const NAME: &str = "deploy role reach";
    let (grants, config, account) = (role.grants, role.config, role.account);
    const PROBE: &str = "bgd-doctor-probe";
    let region = &config.project.region;
    let mut beyond = vec![
        (
            "iam:CreateRole",
            format!("arn:aws:iam::{account}:role/{PROBE}"),
        ),
        (
            "iam:PassRole",
            format!("arn:aws:iam::{account}:role/{PROBE}"),
        ),
        (
            "lambda:UpdateAlias",
            format!("arn:aws:lambda:{region}:{account}:function:{PROBE}:green"),
        ),
        ("lambda:DeleteFunction", config.function_arn(account)),
        (
            "ecr:PutImage",
            format!("arn:aws:ecr:{region}:{account}:repository/{PROBE}"),
        ),
    ];
    if role.api_id.is_some() {
        beyond.push((
            "apigateway:GET",
            format!("arn:aws:apigateway:{region}::/restapis/{PROBE}/stages/green"),
        ));
    }
    let allowed: Vec<String> = beyond
        .iter()
        .filter(|(action, resource)| grants::refusal(&grants.policies, action, resource).is_none())
        .map(|(action, resource)| format!("{action} on {resource}"))
        .collect();
    if allowed.is_empty() {
        return Check::ok(
            NAME,
            format!("none of {} grants past `iam-policy` allowed", beyond.len()),
        );
    }
    Check::finding(
        NAME,
        format!("it may do more than deploys need: {}", allowed.join(", ")),
        format!(
            "{}, and detach every other policy from {}",
            put_generated_policy(role),
            role.options.role
        ),
    )
}

/// The commands that give the role the generated policy as its own.
fn put_generated_policy(role: &Role) -> String {
    let api = role
        .api_id
        .map(|id| format!(" --api-id {id}"))
        .unwrap_or_default();
    format!(
        "cargo xtask iam-policy --account {account}{api} > deploy-policy.json; aws iam put-role-policy --role-name {name} --policy-name {name} --policy-document file://deploy-policy.json",
        account = role.account,
        name = role.options.role
    )
}
