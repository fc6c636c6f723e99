//! The deploy role's trust: GitHub's provider, for exactly the deploy job's subject and audience,
//! and no other way in.
use serde_json::Value;

use super::super::{Check, Options, grants};
use super::Role;
use crate::iam::{self, AUDIENCE, GITHUB_OIDC};

/// The command that writes the trust policy doctor expects.
pub(super) fn trust_fix(account: &str, options: &Options) -> String {
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
pub(super) fn trust(role: &Role) -> Check {
    const NAME: &str = "deploy role trust";
    let Role {
        grants, options, ..
    } = role;
    let fix = format!(
        "{}; aws iam update-assume-role-policy --role-name {} --policy-document file://trust.json",
        trust_fix(role.account, options),
        options.role
    );
    let provider = iam::oidc_provider_arn(role.account);
    let (github, others): (Vec<&Value>, Vec<&Value>) = grants::statements(&grants.trust_policy)
        .into_iter()
        .filter(|st| st["Effect"] == "Allow")
        .partition(|st| is_github(st, &provider));
    let mut problems: Vec<String> = others.into_iter().map(other_way_in).collect();
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
        trusted.extend(github_subjects(statement, &mut problems));
    }
    if let Some(repo) = &options.repo {
        problems.extend(subject_problems(
            &iam::subjects(repo, &options.environments),
            &trusted,
        ));
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

/// A statement that lets someone other than GitHub's provider in: another account, `*`, a
/// service, `sts:*` (security-audit-3 N11).
fn other_way_in(statement: &Value) -> String {
    format!(
        "it also lets {} {} it",
        statement
            .get("Principal")
            .or(statement.get("NotPrincipal"))
            .unwrap_or(&Value::Null),
        statement
            .get("Action")
            .or(statement.get("NotAction"))
            .unwrap_or(&Value::Null)
    )
}

/// The subjects a statement for GitHub's provider trusts, with a problem for each way its
/// conditions let more in: an audience other than exactly STS's, an operator that does not keep
/// a key to its values, no subject, or a pattern.
fn github_subjects<'a>(statement: &'a Value, problems: &mut Vec<String>) -> Vec<&'a str> {
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
    subjects
}

/// The deploy job's subjects the role does not trust, and those it trusts beyond them.
fn subject_problems(expected: &[String], trusted: &[&str]) -> Vec<String> {
    let missing: Vec<&String> = expected
        .iter()
        .filter(|s| !trusted.contains(&s.as_str()))
        .collect();
    let extra: Vec<&&str> = trusted
        .iter()
        .filter(|s| !expected.iter().any(|e| e == **s))
        .collect();
    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!(
            "the job's token (sub {missing:?}) is not trusted; the role trusts {trusted:?}"
        ));
    }
    if !extra.is_empty() {
        problems.push(format!("it also trusts {extra:?}"));
    }
    problems
}
