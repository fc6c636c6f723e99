//! The account's side of a deploy from GitHub: the OIDC provider, the deploy role's trust in
//! exactly one repository's environment, and a policy covering what `iam-policy` generates.
mod policy;
#[cfg(test)]
mod tests;
mod trust;

use super::{Check, Options};
use crate::iam::{AUDIENCE, GITHUB_OIDC};
use bgd_aws::{Audit, RoleGrants};
use bgd_core::{cloud::absent_as_none, config::Config};

/// What the role's checks judge: its grants as read, and what they are judged against.
struct Role<'a> {
    grants: &'a RoleGrants,
    config: &'a Config,
    account: &'a str,
    api_id: Option<&'a str>,
    options: &'a Options,
}

/// The role's checks, in the order a finding is best fixed.
const ROLE_CHECKS: [fn(&Role) -> Check; 3] = [trust::trust, policy::permissions, policy::reach];

/// The provider, then the role's trust and its policy (skipped when there is no role).
pub(super) async fn checks<C: Audit>(
    cloud: &C,
    config: &Config,
    account: &str,
    api_id: Option<&str>,
    options: &Options,
) -> Vec<Check> {
    let mut checks = vec![oidc_provider(cloud).await];
    let name = &options.role;
    match absent_as_none(cloud.role_grants(name).await) {
        Err(e) => checks.push(Check::unreadable("deploy role", &e)),
        Ok(None) => checks.push(Check::finding(
            "deploy role",
            format!("role {name} does not exist (or pass --role NAME)"),
            format!(
                "{}; aws iam create-role --role-name {name} --assume-role-policy-document file://trust.json (docs/aws.md, step 3)",
                trust::trust_fix(account, options)
            ),
        )),
        Ok(Some(grants)) => {
            checks.push(Check::ok("deploy role", grants.arn.clone()));
            let role = Role {
                grants: &grants,
                config,
                account,
                api_id,
                options,
            };
            checks.extend(ROLE_CHECKS.map(|check| check(&role)));
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
