//! `cargo xtask iam-policy`: the deploy role's least-privilege policy, generated from the IAM
//! action each cloud operation declares (with `--env`, for the environment's stack in each of
//! its regions), the read-only policy of a promotion source's role, and the GitHub OIDC trust
//! policy that lets one repository's environment assume either.
use std::collections::BTreeMap;

use anyhow::{Result, bail};
use serde_json::{Value, json};

use crate::{
    flags::{self, IamPolicy},
    places,
};
use bgd_core::{
    cloud::{IMPLIED_ACTIONS, Operation, PROMOTION_SOURCE_READS, PULL_ACTIONS, Scope},
    config::{Config, Placement},
    pipeline::BLUE,
};

/// GitHub Actions' OIDC issuer: the IAM provider's URL and the prefix of its condition keys.
pub(crate) const GITHUB_OIDC: &str = "token.actions.githubusercontent.com";
/// The audience configure-aws-credentials asks GitHub's tokens for.
pub(crate) const AUDIENCE: &str = "sts.amazonaws.com";

impl IamPolicy {
    pub fn run(self, global: &flags::Global) -> Result<()> {
        let (account, configs) = self.stack(global)?;
        let document = if self.trust {
            let (Some(repo), false) = (&self.repo, self.environment.is_empty()) else {
                bail!(
                    "--trust needs --repo OWNER/REPO and --environment NAME (the GitHub environment the deploy job runs in)"
                );
            };
            trust_policy(&account, repo, &self.environment)?
        } else if self.promotion_source {
            promotion_source_policy(&configs, &account)
        } else {
            if let Some(id) = &self.api_id {
                check_api_id(id)?;
                if configs.len() > 1 {
                    bail!(
                        "--api-id names one region's REST API, and this environment has {}: add --region",
                        configs.len()
                    );
                }
            }
            permissions_policy(&configs, &account, self.provision, self.api_id.as_deref())
        };
        println!("{}", serde_json::to_string_pretty(&document)?);
        Ok(())
    }

    /// The account the ARNs name and the stack in each region they name: deploy.toml as
    /// written, or with `--env` the environment in each of its regions (or `--region`'s).
    fn stack(&self, global: &flags::Global) -> Result<(String, Vec<Config>)> {
        let configs = match (&global.env, self.promotion_source) {
            (Some(source), true) => {
                let config = places::source(source)?;
                let first = &config.project.region;
                if let Some(region) = global.region.as_ref().filter(|r| *r != first) {
                    bail!(
                        "--region {region}: `deploy --from {source}` reads {source} in its first region, {first}, only"
                    );
                }
                vec![config]
            }
            _ => places::configs(global)?,
        };
        let placement = configs.first().and_then(|c| c.placement.as_ref());
        Ok((account(placement, self.account.as_deref())?, configs))
    }
}

/// `--account`, or the environment's own (a different `--account` is refused: its ARNs would
/// name a stack the environment does not have).
fn account(placement: Option<&Placement>, given: Option<&str>) -> Result<String> {
    let account = match (placement, given) {
        (Some(placement), Some(given)) if given != placement.account => bail!(
            "--account {given}: environment {} is account {}; leave --account out with --env",
            placement.environment,
            placement.account
        ),
        (Some(placement), _) => placement.account.clone(),
        (None, Some(given)) => given.to_owned(),
        (None, None) => bail!("--account ID: the AWS account the ARNs name (or --env NAME)"),
    };
    check_account(&account)?;
    Ok(account)
}

fn check_account(account: &str) -> Result<()> {
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        bail!(
            "--account {account:?}: an AWS account id is 12 digits (aws sts get-caller-identity)"
        );
    }
    Ok(())
}

/// Calls that could grant permissions: creating the function role (with a trust policy of the
/// caller's choosing) or writing its inline policy, on a role the same policy may pass to code it
/// ships, is account admin. No generated policy holds them: an administrator makes the role once
/// (the first `provision`, run with administrator credentials), see docs/aws.md.
const ADMINISTRATOR_ONLY: &[Operation] = &[Operation::CreateRole, Operation::PutRolePolicy];

/// An API Gateway REST API id: what `--api-id` accepts and the ARNs then name.
fn check_api_id(id: &str) -> Result<()> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        bail!("--api-id {id:?}: a REST API id is letters and digits (cargo xtask status shows it)");
    }
    Ok(())
}

/// API Gateway's management ARNs name the path a call addresses
/// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-control-access-using-iam-policies-to-create-and-manage-api.html>);
/// `api` is one REST API's id, or `*` before provision made it.
fn resources(config: &Config, account: &str, scope: Scope, api: &str) -> Vec<String> {
    let restapis = format!("arn:aws:apigateway:{}::/restapis", config.project.region);
    match scope {
        Scope::Any => vec!["*".into()],
        Scope::Repository => vec![config.repository_arn(account)],
        Scope::Function | Scope::InvokedByApiGateway => config.function_arns(account),
        Scope::FunctionRole | Scope::PassFunctionRole => vec![config.role_arn(account)],
        Scope::RestApis => vec![restapis],
        Scope::RestApi => vec![format!("{restapis}/{api}"), format!("{restapis}/{api}/*")],
        Scope::Stages => vec![format!("{restapis}/{api}/stages")],
        Scope::Stage => vec![format!("{restapis}/{api}/stages/*")],
        Scope::BlueStage => vec![format!("{restapis}/{api}/stages/{BLUE}")],
    }
}

/// PassRole names the role, not who receives it: the condition keeps it to Lambda
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#ck_PassedToService>).
/// AddPermission names the function, not whom it lets invoke it: the condition keeps it to
/// API Gateway, so the role cannot open the function to another account or service
/// (`lambda:Principal`, <https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html>;
/// security-audit-3 #22).
fn condition(scope: Scope) -> Option<Value> {
    match scope {
        Scope::PassFunctionRole => {
            Some(json!({ "StringEquals": { "iam:PassedToService": "lambda.amazonaws.com" } }))
        }
        Scope::InvokedByApiGateway => {
            Some(json!({ "StringEquals": { "lambda:Principal": "apigateway.amazonaws.com" } }))
        }
        _ => None,
    }
}

/// One statement per scope, listing every action needed on it, its resources those of every
/// config (an environment's regions). `provision` adds the actions only provision and destroy
/// need; `api_id` narrows API Gateway to that one REST API.
pub(crate) fn permissions_policy(
    configs: &[Config],
    account: &str,
    provision: bool,
    api_id: Option<&str>,
) -> Value {
    let declared = Operation::ALL
        .iter()
        .filter(|op| provision || !op.provision_only())
        .filter(|op| !ADMINISTRATOR_ONLY.contains(op) && !op.doctor_only())
        .filter_map(|op| Some((op.iam_action()?, op.scope())));
    let implied = IMPLIED_ACTIONS
        .iter()
        .filter(|(_, _, only)| provision || !only)
        .map(|&(action, scope, _)| (action, scope));
    policy(declared.chain(implied), configs, account, api_id)
}

/// What `deploy --from` reads in the environment it promotes from, and nothing it could
/// write with: the role another environment's deploy job reads this one with.
pub(crate) fn promotion_source_policy(configs: &[Config], account: &str) -> Value {
    let reads = PROMOTION_SOURCE_READS
        .iter()
        .filter_map(|op| Some((op.iam_action()?, op.scope())));
    policy(
        reads.chain(PULL_ACTIONS.iter().copied()),
        configs,
        account,
        None,
    )
}

/// The policy granting each `(action, scope)` on the scope's resources in every config.
fn policy<'a>(
    grants: impl Iterator<Item = (&'a str, Scope)>,
    configs: &[Config],
    account: &str,
    api_id: Option<&str>,
) -> Value {
    let mut by_scope: BTreeMap<Scope, Vec<&str>> = BTreeMap::new();
    for (action, scope) in grants {
        let actions = by_scope.entry(scope).or_default();
        if !actions.contains(&action) {
            actions.push(action);
        }
    }
    let statements: Vec<Value> = by_scope
        .into_iter()
        .map(|(scope, mut actions)| {
            actions.sort_unstable();
            let mut arns: Vec<String> = Vec::new();
            for config in configs {
                for arn in resources(config, account, scope, api_id.unwrap_or("*")) {
                    if !arns.contains(&arn) {
                        arns.push(arn);
                    }
                }
            }
            let mut statement = json!({
                "Sid": format!("{scope:?}"),
                "Effect": "Allow",
                "Action": actions,
                "Resource": arns,
            });
            if let Some(condition) = condition(scope) {
                statement["Condition"] = condition;
            }
            statement
        })
        .collect();
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// The ARN of GitHub's OIDC provider in `account` (IAM names a provider by its URL's host).
pub(crate) fn oidc_provider_arn(account: &str) -> String {
    format!("arn:aws:iam::{account}:oidc-provider/{GITHUB_OIDC}")
}

/// The `sub` of GitHub's token for a job of `repo` running in each of `environments`.
pub(crate) fn subjects(repo: &str, environments: &[String]) -> Vec<String> {
    environments
        .iter()
        .map(|environment| format!("repo:{repo}:environment:{environment}"))
        .collect()
}

/// IAM's wildcard match of a policy's Action or Resource pattern: `*` spans any characters
/// (also `/`), `?` exactly one (byte-wise: ARNs and actions are ASCII).
pub(crate) fn matches(pattern: &str, value: &str) -> bool {
    match pattern.split_once('*') {
        None => {
            pattern.len() == value.len()
                && pattern
                    .bytes()
                    .zip(value.bytes())
                    .all(|(p, v)| p == b'?' || p == v)
        }
        Some((head, tail)) => {
            value.len() >= head.len()
                && value.is_char_boundary(head.len())
                && matches(head, &value[..head.len()])
                && (head.len()..=value.len())
                    .filter(|&i| value.is_char_boundary(i))
                    .any(|i| matches(tail, &value[i..]))
        }
    }
}

/// Trusts GitHub's OIDC tokens for jobs of `repo` running in one of `environments` only: with
/// an environment the token's `sub` is `repo:OWNER/REPO:environment:NAME`, and which branches
/// may deploy (and who must approve) is the environment's protection rule.
pub(crate) fn trust_policy(account: &str, repo: &str, environments: &[String]) -> Result<Value> {
    check_subject(repo, environments)?;
    let subjects = subjects(repo, environments);
    // One subject as a string, as IAM's console shows it; several as a list (any of them).
    let subject = match subjects.as_slice() {
        [one] => json!(one),
        _ => json!(subjects),
    };
    Ok(json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Federated": oidc_provider_arn(account) },
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": { "StringEquals": {
                format!("{GITHUB_OIDC}:aud"): AUDIENCE,
                format!("{GITHUB_OIDC}:sub"): subject,
            }},
        }],
    }))
}

/// `--repo` and `--environment` as GitHub spells them: no pattern can slip into a subject.
pub(crate) fn check_subject(repo: &str, environments: &[String]) -> Result<()> {
    let valid = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    match repo.split_once('/') {
        Some((owner, name)) if valid(owner) && valid(name) => {}
        _ => bail!("--repo {repo:?}: use OWNER/REPO as GitHub spells it"),
    }
    for environment in environments {
        if !valid(environment) {
            bail!(
                "--environment {environment:?}: use the GitHub environment's name (letters, digits, '-', '_', '.')"
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod source_reads;
#[cfg(test)]
mod tests;
