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

/// The values a trust statement's conditions give `key`, and whether any is a pattern
/// (a `…Like` operator with `*` or `?`).
fn condition_values<'a>(statement: &'a Value, key: &str) -> (Vec<&'a str>, bool) {
    let mut values = Vec::new();
    let mut pattern = false;
    for (operator, keys) in statement["Condition"].as_object().into_iter().flatten() {
        let Some(found) = keys.get(key) else { continue };
        for value in grants::strings(found) {
            pattern |= operator.contains("Like") && value.contains(['*', '?']);
            values.push(value);
        }
    }
    (values, pattern)
}

/// The role must let GitHub's provider assume it for exactly the job's subject and audience.
fn trust(grants: &RoleGrants, account: &str, options: &Options, fix_write: &str) -> Check {
    const NAME: &str = "deploy role trust";
    let fix = format!(
        "{fix_write}; aws iam update-assume-role-policy --role-name {} --policy-document file://trust.json",
        options.role
    );
    let provider = iam::oidc_provider_arn(account);
    let github: Vec<&Value> = grants::statements(&grants.trust_policy)
        .into_iter()
        .filter(|st| st["Effect"] == "Allow")
        .filter(|st| {
            grants::strings(&st["Action"])
                .iter()
                .any(|a| a.eq_ignore_ascii_case("sts:AssumeRoleWithWebIdentity"))
        })
        .filter(|st| grants::strings(&st["Principal"]["Federated"]).contains(&provider.as_str()))
        .collect();
    if github.is_empty() {
        return Check::finding(
            NAME,
            format!(
                "{} does not trust {provider} (AssumeRoleWithWebIdentity)",
                grants.arn
            ),
            fix,
        );
    }
    let mut problems = Vec::new();
    let mut trusted = Vec::new();
    for statement in github {
        let (audiences, _) = condition_values(statement, &format!("{GITHUB_OIDC}:aud"));
        if audiences != [AUDIENCE] {
            problems.push(format!(
                "the audience condition is {audiences:?}, not exactly [\"{AUDIENCE}\"]"
            ));
        }
        let (subjects, pattern) = condition_values(statement, &format!("{GITHUB_OIDC}:sub"));
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
