//! The account's side of a deploy from GitHub: the OIDC provider, the deploy role's trust in
//! exactly one repository's environment, and a policy covering what `iam-policy` generates.
use serde_json::Value;

use super::{Check, Options, grants};
use crate::iam::{self, AUDIENCE, GITHUB_OIDC};
use bgd_aws::{Audit, RoleGrants};
use bgd_core::{cloud::absent_as_none, config::Config};

/// The provider, then the role's trust and its policy (skipped when there is no role).
pub(super) async fn checks<C: Audit>(
    cloud: &C,
    config: &Config,
    account: &str,
    api_id: Option<&str>,
    options: &Options,
) -> Vec<Check> {
    let mut checks = vec![oidc_provider(cloud).await];
    let role = &options.role;
    let trust_fix = trust_fix(account, options);
    match absent_as_none(cloud.role_grants(role).await) {
        Err(e) => checks.push(Check::unreadable("deploy role", &e)),
        Ok(None) => checks.push(Check::finding(
            "deploy role",
            format!("role {role} does not exist (or pass --role NAME)"),
            format!(
                "{trust_fix}; aws iam create-role --role-name {role} --assume-role-policy-document file://trust.json (docs/aws.md, step 3)"
            ),
        )),
        Ok(Some(grants)) => {
            checks.push(Check::ok("deploy role", grants.arn.clone()));
            checks.push(trust(&grants, account, options, &trust_fix));
            checks.push(permissions(&grants, config, account, api_id, role));
            checks.push(reach(&grants, config, account, api_id, role));
        }
    }
    checks
}

async fn oidc_provider<C: Audit>(cloud: &C) -> Check {
    const NAME: &str = "oidc provider";
    match cloud.oidc_provider(GITHUB_OIDC).await {
        Err(e) => Check::unreadable(NAME, &e),
        Ok(None) => Check::finding(
            NAME,
            format!(
                "the account has no OIDC provider for {GITHUB_OIDC}: GitHub's tokens cannot be exchanged for the deploy role"
            ),
            format!(
                "aws iam create-open-id-connect-provider --url https://{GITHUB_OIDC} --client-id-list {AUDIENCE}"
            ),
        ),
        Ok(Some(provider)) if !provider.client_ids.iter().any(|id| id == AUDIENCE) => {
            Check::finding(
                NAME,
                format!(
                    "{} accepts the audiences {:?}, not {AUDIENCE} (what configure-aws-credentials asks for)",
                    provider.url, provider.client_ids
                ),
                format!(
                    "aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn {} --client-id {AUDIENCE}",
                    provider.arn
                ),
            )
        }
        Ok(Some(provider)) => Check::ok(NAME, format!("{} accepts {AUDIENCE}", provider.url)),
    }
}

/// The command that writes the trust policy doctor expects.
fn trust_fix(account: &str, options: &Options) -> String {
    let repo = options.repo.as_deref().unwrap_or("OWNER/REPO");
    let environments = if options.environments.is_empty() {
        " --environment production".to_owned()
    } else {
        options
            .environments
            .iter()
            .map(|e| format!(" --environment {e}"))
            .collect()
    };
    format!(
        "cargo xtask iam-policy --account {account} --trust --repo {repo}{environments} > trust.json"
    )
}

/// The values a trust statement's conditions give `key` under the operators that keep it to
/// them (`StringEquals`, `StringLike`), whether any is a pattern (a `StringLike` with `*` or
/// `?`), and the other operators that name it: `StringNotEquals` trusts every value but those,
/// and the `ForAllValues:` and `ForAnyValue:` sets are for multi-valued keys, which `sub` and
/// `aud` are not (security-audit-3 N11: their values counted as trusted subjects).
fn condition_values<'a>(statement: &'a Value, key: &str) -> (Vec<&'a str>, bool, Vec<&'a str>) {
    let mut values = Vec::new();
    let mut pattern = false;
    let mut loose = Vec::new();
    for (operator, keys) in statement["Condition"].as_object().into_iter().flatten() {
        let Some(found) = keys.get(key) else { continue };
        if !matches!(operator.as_str(), "StringEquals" | "StringLike") {
            loose.push(operator.as_str());
            continue;
        }
        for value in grants::strings(found) {
            pattern |= operator == "StringLike" && value.contains(['*', '?']);
            values.push(value);
        }
    }
    (values, pattern, loose)
}

/// Whether `statement` is the one the generated trust policy holds: GitHub's provider, and
/// AssumeRoleWithWebIdentity alone.
fn is_github(statement: &Value, provider: &str) -> bool {
    let actions = grants::strings(&statement["Action"]);
    let principal = statement["Principal"].as_object();
    !actions.is_empty()
        && actions
            .iter()
            .all(|a| a.eq_ignore_ascii_case("sts:AssumeRoleWithWebIdentity"))
        && principal.is_some_and(|p| p.len() == 1)
        && grants::strings(&statement["Principal"]["Federated"]) == [provider]
}

/// The role must let GitHub's provider assume it for exactly the job's subject and audience.
fn trust(grants: &RoleGrants, account: &str, options: &Options, fix_write: &str) -> Check {
    const NAME: &str = "deploy role trust";
    let fix = format!(
        "{fix_write}; aws iam update-assume-role-policy --role-name {} --policy-document file://trust.json",
        options.role
    );
    let provider = iam::oidc_provider_arn(account);
    let (github, others): (Vec<&Value>, Vec<&Value>) = grants::statements(&grants.trust_policy)
        .into_iter()
        .filter(|st| st["Effect"] == "Allow")
        .partition(|st| is_github(st, &provider));
    // Any other way in: another account, `*`, a service, `sts:*` (security-audit-3 N11).
    let mut problems: Vec<String> = others
        .iter()
        .map(|st| {
            format!(
                "it also lets {} {} it",
                st.get("Principal")
                    .or(st.get("NotPrincipal"))
                    .unwrap_or(&Value::Null),
                st.get("Action")
                    .or(st.get("NotAction"))
                    .unwrap_or(&Value::Null)
            )
        })
        .collect();
    if github.is_empty() {
        problems.insert(
            0,
            format!(
                "{} does not trust {provider} (AssumeRoleWithWebIdentity)",
                grants.arn
            ),
        );
        return Check::finding(NAME, problems.join("; "), fix);
    }
    let mut trusted = Vec::new();
    for statement in github {
        let aud = format!("{GITHUB_OIDC}:aud");
        let sub = format!("{GITHUB_OIDC}:sub");
        let (audiences, _, loose_aud) = condition_values(statement, &aud);
        let (subjects, pattern, loose_sub) = condition_values(statement, &sub);
        if audiences != [AUDIENCE] {
            problems.push(format!(
                "the audience condition is {audiences:?}, not exactly [\"{AUDIENCE}\"]"
            ));
        }
        for (key, operator) in loose_aud
            .into_iter()
            .map(|o| (&aud, o))
            .chain(loose_sub.into_iter().map(|o| (&sub, o)))
        {
            problems.push(format!(
                "{key} is conditioned with {operator}, which does not keep it to the values named"
            ));
        }
        if subjects.is_empty() {
            problems.push("no `sub` condition: every repository on GitHub may assume it".into());
        } else if pattern {
            problems.push(format!(
                "the `sub` condition {subjects:?} is a pattern: it trusts more than one environment's jobs"
            ));
        }
        trusted.extend(subjects);
    }
    if let Some(repo) = &options.repo {
        let expected = iam::subjects(repo, &options.environments);
        let missing: Vec<&String> = expected
            .iter()
            .filter(|s| !trusted.contains(&s.as_str()))
            .collect();
        let extra: Vec<&&str> = trusted
            .iter()
            .filter(|s| !expected.iter().any(|e| e == **s))
            .collect();
        if !missing.is_empty() {
            problems.push(format!(
                "the job's token (sub {missing:?}) is not trusted; the role trusts {trusted:?}"
            ));
        }
        if !extra.is_empty() {
            problems.push(format!("it also trusts {extra:?}"));
        }
    }
    match (problems.is_empty(), &options.repo) {
        (false, _) => Check::finding(NAME, problems.join("; "), fix),
        (true, Some(_)) => Check::ok(NAME, format!("exactly {trusted:?}, audience {AUDIENCE}")),
        (true, None) => Check::ok(
            NAME,
            format!(
                "{trusted:?}, audience {AUDIENCE} (pass --repo and --environment to check the subject is the deploy job's)"
            ),
        ),
    }
}

/// Every action on every resource of the generated deploy policy must be allowed.
fn permissions(
    grants: &RoleGrants,
    config: &Config,
    account: &str,
    api_id: Option<&str>,
    role: &str,
) -> Check {
    const NAME: &str = "deploy role policy";
    let required = iam::permissions_policy(config, account, false, api_id);
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
    let api = api_id
        .map(|id| format!(" --api-id {id}"))
        .unwrap_or_default();
    Check::finding(
        NAME,
        format!(
            "{} of {checked} grants missing: {}",
            missing.len(),
            missing.join(", ")
        ),
        format!(
            "cargo xtask iam-policy --account {account}{api} > deploy-policy.json; aws iam put-role-policy --role-name {role} --policy-name {role} --policy-document file://deploy-policy.json"
        ),
    )
}

/// Grants beyond what `iam-policy` generates, each a sign of more: a role that may make roles or
/// pass them, act on another function or repository, delete the stack's function, or (once
/// provision made the API) touch another REST API. The permission check reports only what is
/// missing, so AdministratorAccess, or the policy made before provision with `*` for the API,
/// reported "ok" (security-audit-3 N11).
fn reach(
    grants: &RoleGrants,
    config: &Config,
    account: &str,
    api_id: Option<&str>,
    role: &str,
) -> Check {
    const NAME: &str = "deploy role reach";
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
    if api_id.is_some() {
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
    let api = api_id
        .map(|id| format!(" --api-id {id}"))
        .unwrap_or_default();
    Check::finding(
        NAME,
        format!("it may do more than deploys need: {}", allowed.join(", ")),
        format!(
            "cargo xtask iam-policy --account {account}{api} > deploy-policy.json; aws iam put-role-policy --role-name {role} --policy-name {role} --policy-document file://deploy-policy.json, and detach every other policy from {role}"
        ),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::{Options, reach, trust};
    use crate::doctor::Verdict;
    use crate::iam::{permissions_policy, trust_policy};
    use bgd_aws::RoleGrants;
    use bgd_core::config::Config;

    const ACCOUNT: &str = "123456789012";

    fn role(trust_policy: Value, policy: Value) -> RoleGrants {
        RoleGrants {
            arn: format!("arn:aws:iam::{ACCOUNT}:role/bgd-deploy"),
            trust_policy,
            policies: vec![("inline bgd-deploy".into(), policy)],
        }
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
        let options = options();
        let plain = role(generated_trust(), json!({}));
        assert_eq!(trust(&plain, ACCOUNT, &options, "fix").verdict, Verdict::Ok);
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
            let check = trust(&role(broken, json!({})), ACCOUNT, &options, "fix");
            assert_eq!(check.verdict, Verdict::Finding, "{}", check.detail);
            assert!(check.detail.contains(says), "{}", check.detail);
        }
    }

    /// security-audit-3 N11: the permission check reports only what is missing, so an
    /// administrator role, or the policy made before provision (`*` for the API), was "ok".
    #[test]
    fn grants_past_the_generated_policy_are_a_finding() {
        let config = Config::load().unwrap();
        let trust = generated_trust();
        let scoped = permissions_policy(&config, ACCOUNT, false, Some("a1b2c3"));
        let check = |policy: &Value| {
            reach(
                &role(trust.clone(), policy.clone()),
                &config,
                ACCOUNT,
                Some("a1b2c3"),
                "r",
            )
        };
        assert_eq!(
            check(&scoped).verdict,
            Verdict::Ok,
            "{}",
            check(&scoped).detail
        );
        let admin = json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}});
        let before_provision = permissions_policy(&config, ACCOUNT, false, None);
        for (policy, says) in [
            (admin, "iam:CreateRole"),
            (before_provision, "/restapis/bgd-doctor-probe/stages/green"),
        ] {
            let found = check(&policy);
            assert_eq!(found.verdict, Verdict::Finding, "{}", found.detail);
            assert!(found.detail.contains(says), "{}", found.detail);
        }
    }
}
