//! The role's checks on crafted trust and permission policies.
use serde_json::{Value, json};

use super::{Options, Role, policy::reach, trust::trust};
use crate::doctor::{Check, Verdict};
use crate::iam::{permissions_policy, trust_policy};
use bgd_aws::RoleGrants;
use bgd_core::config::Config;

const ACCOUNT: &str = "123456789012";

/// A role of `trust_policy` and one inline `policy`, judged by `check` for the stack whose API
/// has the id `a1b2c3`.
fn judge(check: fn(&Role) -> Check, trust_policy: Value, policy: Value) -> Check {
    let grants = RoleGrants {
        arn: format!("arn:aws:iam::{ACCOUNT}:role/bgd-deploy"),
        trust_policy,
        policies: vec![("inline bgd-deploy".into(), policy)],
    };
    check(&Role {
        grants: &grants,
        config: &Config::load().unwrap(),
        account: ACCOUNT,
        api_id: Some("a1b2c3"),
        options: &options(),
    })
}

fn options() -> Options {
    Options {
        role: "bgd-deploy".into(),
        repo: Some("octo/app".into()),
        environments: vec!["production".into()],
    }
}

fn generated_trust() -> Value {
    trust_policy(ACCOUNT, "octo/app", &["production".into()]).unwrap()
}

/// security-audit-3 N11: a second statement trusting another account or `*`, `sts:*`, and
/// a `sub` under StringNotEquals passed as the GitHub subject.
#[test]
fn trust_beyond_the_github_statement_is_a_finding() {
    let plain = judge(trust, generated_trust(), json!({}));
    assert_eq!(plain.verdict, Verdict::Ok, "{}", plain.detail);
    let mut other_account = generated_trust();
    other_account["Statement"]
        .as_array_mut()
        .unwrap()
        .push(json!({
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
            "Action": "sts:AssumeRole",
        }));
    let mut any_sts = generated_trust();
    any_sts["Statement"][0]["Action"] = json!("sts:*");
    let mut not_equals = generated_trust();
    let condition = &mut not_equals["Statement"][0]["Condition"];
    let sub = condition["StringEquals"]["token.actions.githubusercontent.com:sub"].take();
    condition["StringEquals"]
        .as_object_mut()
        .unwrap()
        .remove("token.actions.githubusercontent.com:sub");
    condition["StringNotEquals"] = json!({"token.actions.githubusercontent.com:sub": sub});
    for (broken, says) in [
        (other_account, "210987654321"),
        (any_sts, "sts:*"),
        (not_equals, "StringNotEquals"),
    ] {
        let check = judge(trust, broken, json!({}));
        assert_eq!(check.verdict, Verdict::Finding, "{}", check.detail);
        assert!(check.detail.contains(says), "{}", check.detail);
    }
}

/// security-audit-3 N11: the permission check reports only what is missing, so an
/// administrator role, or the policy made before provision (`*` for the API), was "ok".
#[test]
fn grants_past_the_generated_policy_are_a_finding() {
    let config = Config::load().unwrap();
    let scoped = permissions_policy(
        std::slice::from_ref(&config),
        ACCOUNT,
        false,
        Some("a1b2c3"),
    );
    let check = |policy: &Value| judge(reach, generated_trust(), policy.clone());
    let ok = check(&scoped);
    assert_eq!(ok.verdict, Verdict::Ok, "{}", ok.detail);
    let admin = json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}});
    let before_provision = permissions_policy(std::slice::from_ref(&config), ACCOUNT, false, None);
    for (policy, says) in [
        (admin, "iam:CreateRole"),
        (before_provision, "/restapis/bgd-doctor-probe/stages/green"),
    ] {
        let found = check(&policy);
        assert_eq!(found.verdict, Verdict::Finding, "{}", found.detail);
        assert!(found.detail.contains(says), "{}", found.detail);
    }
}
