//! [`Audit`] on IAM, Lambda and ECR: the reads `doctor` checks an account's set-up with. None
//! of them writes, and none is granted to the deploy role (an operator runs `doctor`).
use std::future::Future;

use serde_json::Value;

use super::{
    CloudError, CloudResult, ErrorKind, Operation, SdkCloud, absent_as_none,
    error::{OrCloud, missing},
};

/// An IAM OpenID Connect provider: its URL (without `https://`) and the audiences it accepts.
#[derive(Debug, Clone)]
pub struct OidcProvider {
    pub arn: String,
    pub url: String,
    pub client_ids: Vec<String>,
}

/// An IAM role with the policies that grant it rights, each parsed from IAM's URL-encoded JSON.
#[derive(Debug, Clone)]
pub struct RoleGrants {
    pub arn: String,
    pub trust_policy: Value,
    /// `(where it comes from, the policy document)`: `inline NAME` or a managed policy's ARN.
    pub policies: Vec<(String, Value)>,
}

/// The reads `doctor` needs beyond the pipeline's own (which it also uses).
pub trait Audit: Send + Sync {
    /// ListOpenIDConnectProviders, then GetOpenIDConnectProvider of the one for `host`
    /// (`token.actions.githubusercontent.com`); `None` when the account has none.
    fn oidc_provider(
        &self,
        host: &str,
    ) -> impl Future<Output = CloudResult<Option<OidcProvider>>> + Send;
    /// GetRole, then its inline policies (ListRolePolicies, GetRolePolicy) and its attached
    /// managed policies (ListAttachedRolePolicies, GetPolicy, GetPolicyVersion).
    fn role_grants(&self, name: &str) -> impl Future<Output = CloudResult<RoleGrants>> + Send;
    /// GetPolicy of `function:alias`: the whole resource policy (`None` when it has none).
    fn permission_policy(
        &self,
        function: &str,
        alias: &str,
    ) -> impl Future<Output = CloudResult<Option<Value>>> + Send;
    /// GetRepositoryPolicy (`None` when the repository has none; NotFound without it).
    fn repository_policy(
        &self,
        repository: &str,
    ) -> impl Future<Output = CloudResult<Option<Value>>> + Send;
}

/// The region the environment or profile names (`AWS_REGION`, `AWS_PROFILE`'s `region`), if
/// any: what the aws CLI and configure-aws-credentials use, where deploy.toml's wins for us.
pub async fn environment_region() -> Option<String> {
    // The SDK's default chain (environment, profile, then EC2's IMDS, which takes an HTTP
    // client: ours, as everywhere).
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(crate::tls::sdk_http_client())
        .load()
        .await
        .region()
        .map(ToString::to_string)
}

/// IAM returns policy documents URL-encoded
/// (<https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRolePolicy.html>); some
/// emulators and older answers give the JSON itself.
fn policy_document(op: Operation, subject: &str, text: &str) -> CloudResult<Value> {
    let decoded = if text.trim_start().starts_with('{') {
        text.to_owned()
    } else {
        percent_decoded(text)
    };
    parse_json(op, subject, &decoded)
}

/// RFC 3986 percent-decoding (IAM encodes a space as `%20`, so `+` stays `+`).
fn percent_decoded(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

fn parse_json(op: Operation, subject: &str, text: &str) -> CloudResult<Value> {
    serde_json::from_str(text).map_err(|e| {
        CloudError::new(
            ErrorKind::Other,
            op,
            subject,
            format!("the policy is not JSON: {e}"),
        )
    })
}

impl Audit for SdkCloud {
    async fn oidc_provider(&self, host: &str) -> CloudResult<Option<OidcProvider>> {
        let subject = format!("the OIDC provider {host}");
        let listed = self
            .iam
            .list_open_id_connect_providers()
            .send()
            .await
            .or_cloud(Operation::ListOpenIDConnectProviders, &subject)?;
        // The provider's ARN ends with its URL's host and path.
        let suffix = format!(":oidc-provider/{host}");
        let Some(arn) = listed
            .open_id_connect_provider_list()
            .iter()
            .filter_map(|p| p.arn())
            .find(|arn| arn.ends_with(&suffix))
        else {
            return Ok(None);
        };
        let op = Operation::GetOpenIDConnectProvider;
        let found = self
            .iam
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await
            .or_cloud(op, &subject);
        Ok(absent_as_none(found)?.map(|out| OidcProvider {
            arn: arn.to_owned(),
            url: out
                .url()
                .unwrap_or(host)
                .trim_start_matches("https://")
                .to_owned(),
            client_ids: out.client_id_list().to_vec(),
        }))
    }

    async fn role_grants(&self, name: &str) -> CloudResult<RoleGrants> {
        let subject = format!("role {name}");
        let role = self
            .iam
            .get_role()
            .role_name(name)
            .send()
            .await
            .or_cloud(Operation::GetRole, &subject)?
            .role
            .ok_or_else(|| missing(Operation::GetRole, &subject, "Role"))?;
        let trust = role
            .assume_role_policy_document()
            .ok_or_else(|| missing(Operation::GetRole, &subject, "AssumeRolePolicyDocument"))?;
        let trust_policy = policy_document(Operation::GetRole, &subject, trust)?;
        let mut policies = self.inline_policies(name, &subject).await?;
        policies.extend(self.attached_policies(name, &subject).await?);
        Ok(RoleGrants {
            arn: role.arn,
            trust_policy,
            policies,
        })
    }

    async fn permission_policy(&self, function: &str, alias: &str) -> CloudResult<Option<Value>> {
        let op = Operation::GetPolicy;
        let subject = format!("the policy of {function}:{alias}");
        let out = self
            .lambda
            .get_policy()
            .function_name(function)
            .qualifier(alias)
            .send()
            .await
            .or_cloud(op, &subject);
        match absent_as_none(out)?.and_then(|out| out.policy) {
            Some(policy) => Ok(Some(parse_json(op, &subject, &policy)?)),
            None => Ok(None),
        }
    }

    async fn repository_policy(&self, repository: &str) -> CloudResult<Option<Value>> {
        let op = Operation::GetRepositoryPolicy;
        let subject = format!("repository {repository}");
        let out = self
            .ecr
            .get_repository_policy()
            .repository_name(repository)
            .send()
            .await;
        let out = match out {
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_repository_policy_not_found_exception()) =>
            {
                return Ok(None);
            }
            other => other.or_cloud(op, &subject)?,
        };
        match out.policy_text() {
            Some(text) => Ok(Some(parse_json(op, &subject, text)?)),
            None => Ok(None),
        }
    }
}

/// The policies a role holds, each with where it comes from, for [`Audit::role_grants`].
impl SdkCloud {
    /// Its inline policies, as `inline NAME`.
    async fn inline_policies(
        &self,
        name: &str,
        subject: &str,
    ) -> CloudResult<Vec<(String, Value)>> {
        let mut policies = Vec::new();
        let op = Operation::ListRolePolicies;
        let names = self
            .iam
            .list_role_policies()
            .role_name(name)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .or_cloud(op, subject)?;
        for policy in names {
            let op = Operation::GetRolePolicy;
            let out = self
                .iam
                .get_role_policy()
                .role_name(name)
                .policy_name(&policy)
                .send()
                .await
                .or_cloud(op, subject)?;
            let document = policy_document(op, subject, out.policy_document())?;
            policies.push((format!("inline {policy}"), document));
        }
        Ok(policies)
    }

    /// The default versions of its attached managed policies, by ARN.
    async fn attached_policies(
        &self,
        name: &str,
        subject: &str,
    ) -> CloudResult<Vec<(String, Value)>> {
        let mut policies = Vec::new();
        let op = Operation::ListAttachedRolePolicies;
        let attached = self
            .iam
            .list_attached_role_policies()
            .role_name(name)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .or_cloud(op, subject)?;
        for arn in attached.iter().filter_map(|p| p.policy_arn()) {
            let policy = self
                .iam
                .get_policy()
                .policy_arn(arn)
                .send()
                .await
                .or_cloud(Operation::GetManagedPolicy, arn)?;
            let version = policy
                .policy()
                .and_then(|p| p.default_version_id())
                .ok_or_else(|| missing(Operation::GetManagedPolicy, arn, "DefaultVersionId"))?;
            let op = Operation::GetPolicyVersion;
            let out = self
                .iam
                .get_policy_version()
                .policy_arn(arn)
                .version_id(version)
                .send()
                .await
                .or_cloud(op, arn)?;
            let document = out
                .policy_version()
                .and_then(|v| v.document())
                .ok_or_else(|| missing(op, arn, "Document"))?;
            policies.push((arn.to_owned(), policy_document(op, arn, document)?));
        }
        Ok(policies)
    }
}

#[cfg(test)]
mod tests {
    use super::percent_decoded;

    #[test]
    fn iam_documents_are_percent_decoded_and_plus_stays_plus() {
        assert_eq!(
            percent_decoded("%7B%22a%22%3A%20%22x+y%C3%A9%22%7D%"),
            "{\"a\": \"x+yé\"}%"
        );
    }
}
