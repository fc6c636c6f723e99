//! `cargo xtask iam-policy`: the deploy role's least-privilege policy, generated from the IAM
//! action each cloud operation declares, and the GitHub OIDC trust policy that lets one
//! repository's environment assume it.
use std::collections::BTreeMap;

use anyhow::{Result, bail};
use serde_json::{Value, json};

use crate::{
    cloud::{IMPLIED_ACTIONS, Operation, Scope},
    config::Config,
    flags::IamPolicy,
};

const GITHUB_OIDC: &str = "token.actions.githubusercontent.com";

impl IamPolicy {
    pub fn run(self) -> Result<()> {
        let config = Config::load()?;
        check_account(&self.account)?;
        let document = if self.trust {
            let (Some(repo), Some(environment)) = (&self.repo, &self.environment) else {
                bail!(
                    "--trust needs --repo OWNER/REPO and --environment NAME (the GitHub environment the deploy job runs in)"
                );
            };
            trust_policy(&self.account, repo, environment)?
        } else {
            permissions_policy(&config, &self.account, self.provision)
        };
        println!("{}", serde_json::to_string_pretty(&document)?);
        Ok(())
    }
}

fn check_account(account: &str) -> Result<()> {
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        bail!(
            "--account {account:?}: an AWS account id is 12 digits (aws sts get-caller-identity)"
        );
    }
    Ok(())
}

fn resources(config: &Config, account: &str, scope: Scope) -> Vec<String> {
    match scope {
        Scope::Any => vec!["*".into()],
        Scope::Repository => vec![config.repository_arn(account)],
        Scope::Function => config.function_arns(account),
        Scope::FunctionRole => vec![config.role_arn(account)],
        Scope::RestApis => config.apigateway_arns(),
    }
}

/// One statement per scope, listing every action needed on it. `provision` adds the actions
/// only provision and destroy need.
pub fn permissions_policy(config: &Config, account: &str, provision: bool) -> Value {
    let declared = Operation::ALL
        .iter()
        .filter(|op| provision || !op.provision_only())
        .filter_map(|op| Some((op.iam_action()?, op.scope())));
    let implied = IMPLIED_ACTIONS
        .iter()
        .filter(|(_, _, only)| provision || !only)
        .map(|&(action, scope, _)| (action, scope));
    let mut by_scope: BTreeMap<Scope, Vec<&str>> = BTreeMap::new();
    for (action, scope) in declared.chain(implied) {
        let actions = by_scope.entry(scope).or_default();
        if !actions.contains(&action) {
            actions.push(action);
        }
    }
    let statements: Vec<Value> = by_scope
        .into_iter()
        .map(|(scope, mut actions)| {
            actions.sort_unstable();
            json!({
                "Sid": format!("{scope:?}"),
                "Effect": "Allow",
                "Action": actions,
                "Resource": resources(config, account, scope),
            })
        })
        .collect();
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// Trusts GitHub's OIDC tokens for jobs of `repo` running in `environment` only: with an
/// environment the token's `sub` is `repo:OWNER/REPO:environment:NAME`, and which branches may
/// deploy is the environment's protection rule.
pub fn trust_policy(account: &str, repo: &str, environment: &str) -> Result<Value> {
    let valid = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    match repo.split_once('/') {
        Some((owner, name)) if valid(owner) && valid(name) => {}
        _ => bail!("--repo {repo:?}: use OWNER/REPO as GitHub spells it"),
    }
    if !valid(environment) {
        bail!(
            "--environment {environment:?}: use the GitHub environment's name (letters, digits, '-', '_', '.')"
        );
    }
    Ok(json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Federated": format!("arn:aws:iam::{account}:oidc-provider/{GITHUB_OIDC}") },
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": { "StringEquals": {
                format!("{GITHUB_OIDC}:aud"): "sts.amazonaws.com",
                format!("{GITHUB_OIDC}:sub"): format!("repo:{repo}:environment:{environment}"),
            }},
        }],
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::{permissions_policy, trust_policy};
    use crate::{cloud::Operation, config::Config};

    const ACCOUNT: &str = "123456789012";

    fn statements(provision: bool) -> Vec<Value> {
        let config = Config::load().unwrap();
        let policy = permissions_policy(&config, ACCOUNT, provision);
        policy["Statement"].as_array().unwrap().clone()
    }

    fn actions(statement: &Value) -> Vec<&str> {
        let actions = statement["Action"].as_array().unwrap();
        actions.iter().map(|a| a.as_str().unwrap()).collect()
    }

    #[test]
    fn only_get_authorization_token_is_granted_on_any_resource() {
        for provision in [false, true] {
            for statement in statements(provision) {
                let resources = statement["Resource"].as_array().unwrap();
                for resource in resources.iter().map(|r| r.as_str().unwrap()) {
                    let scoped = resource.starts_with("arn:aws:")
                        && (resource.contains(ACCOUNT) || resource.contains(":apigateway:"));
                    assert!(
                        scoped || actions(&statement) == ["ecr:GetAuthorizationToken"],
                        "{statement}"
                    );
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
            assert!(full.iter().any(|a| a == action), "{op}");
        }
        for action in [
            "lambda:CreateFunction",
            "iam:PassRole",
            "iam:CreateRole",
            "lambda:DeleteFunction",
        ] {
            assert!(!deploy.iter().any(|a| a == action), "{action}");
            assert!(full.iter().any(|a| a == action), "{action}");
        }
        assert!(deploy.iter().any(|a| a == "lambda:UpdateAlias"));
    }

    #[test]
    fn trust_is_restricted_to_one_repository_environment() {
        let policy = trust_policy(ACCOUNT, "octo/app", "production").unwrap();
        let condition = &policy["Statement"][0]["Condition"]["StringEquals"];
        assert_eq!(
            condition["token.actions.githubusercontent.com:sub"],
            "repo:octo/app:environment:production"
        );
        assert_eq!(
            condition["token.actions.githubusercontent.com:aud"],
            "sts.amazonaws.com"
        );
        assert!(trust_policy(ACCOUNT, "octo/*", "production").is_err());
        assert!(trust_policy(ACCOUNT, "octo/app", "prod*").is_err());
    }
}
