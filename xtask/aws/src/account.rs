//! [`Account`] on STS, ECR and IAM.
use base64::Engine;

use super::{
    Account, CloudError, CloudResult, ErrorKind, Operation, ROLE_POLICY, RegistryAccess,
    Repository, SdkCloud, absent_as_none,
    error::{OrCloud, missing},
};
use bgd_core::{
    cloud::{LAMBDA_TRUST_POLICY, with_lambda_pull},
    secret::Secret,
};

use crate::Audit;

impl Account for SdkCloud {
    async fn account_id(&self) -> CloudResult<String> {
        let op = Operation::GetCallerIdentity;
        let out = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .or_cloud(op, "the caller")?;
        Ok(out
            .account()
            .ok_or_else(|| missing(op, "the caller", "Account"))?
            .to_owned())
    }

    async fn repository(&self, name: &str) -> CloudResult<Repository> {
        let op = Operation::DescribeRepositories;
        let subject = format!("repository {name}");
        let out = self
            .ecr
            .describe_repositories()
            .repository_names(name)
            .send()
            .await
            .or_cloud(op, &subject)?;
        let uri = out
            .repositories()
            .first()
            .and_then(|r| r.repository_uri())
            .ok_or_else(|| missing(op, &subject, "repositoryUri"))?;
        Ok(Repository {
            name: name.to_owned(),
            uri: uri.to_owned(),
        })
    }

    async fn allow_lambda_pull(&self, repository: &str, function_arn: &str) -> CloudResult<()> {
        let existing = Audit::repository_policy(self, repository).await?;
        let policy = with_lambda_pull(existing, function_arn);
        self.ecr
            .set_repository_policy()
            .repository_name(repository)
            .policy_text(policy.to_string())
            .send()
            .await
            .or_cloud(
                Operation::SetRepositoryPolicy,
                &format!("repository {repository}"),
            )?;
        Ok(())
    }

    async fn ensure_repository(&self, name: &str) -> CloudResult<Repository> {
        match self.repository(name).await {
            Err(e) if e.is_not_found() => {}
            found => return found,
        }
        let subject = format!("repository {name}");
        let uri = self
            .ecr
            .create_repository()
            .repository_name(name)
            .send()
            .await
            .or_cloud(Operation::CreateRepository, &subject)?
            .repository()
            .and_then(|r| r.repository_uri())
            .map(str::to_owned)
            .ok_or_else(|| missing(Operation::CreateRepository, &subject, "repositoryUri"))?;
        Ok(Repository {
            name: name.to_owned(),
            uri,
        })
    }

    async fn registry_access(&self) -> CloudResult<RegistryAccess> {
        let op = Operation::GetAuthorizationToken;
        let subject = "the ECR registry";
        let out = self
            .ecr
            .get_authorization_token()
            .send()
            .await
            .or_cloud(op, subject)?;
        let data = out
            .authorization_data()
            .first()
            .ok_or_else(|| missing(op, subject, "authorizationData"))?;
        let endpoint = data
            .proxy_endpoint()
            .ok_or_else(|| missing(op, subject, "proxyEndpoint"))?;
        // The token is base64 of "AWS:PASSWORD"
        // (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_AuthorizationData.html).
        let token = data
            .authorization_token()
            .and_then(|t| base64::engine::general_purpose::STANDARD.decode(t).ok())
            .and_then(|t| String::from_utf8(t).ok())
            .ok_or_else(|| missing(op, subject, "a base64 authorizationToken"))?;
        let (user, password) = token.split_once(':').ok_or_else(|| {
            CloudError::new(
                ErrorKind::Other,
                op,
                subject,
                "the token is not USER:PASSWORD".into(),
            )
        })?;
        // ECR's endpoint is HTTPS; a plain-HTTP one (a registry on loopback) is taken as named.
        let (host, plain_http) = match endpoint.strip_prefix("http://") {
            Some(host) => (host, true),
            None => (endpoint.trim_start_matches("https://"), false),
        };
        Ok(RegistryAccess {
            host: host.trim_end_matches('/').to_owned(),
            plain_http,
            basic: Some((user.to_owned(), Secret::registered(password.to_owned()))),
        })
    }

    async fn ensure_function_role(&self, name: &str, policy: &str) -> CloudResult<String> {
        let subject = format!("role {name}");
        let found = self
            .iam
            .get_role()
            .role_name(name)
            .send()
            .await
            .or_cloud(Operation::GetRole, &subject);
        let role = match found {
            Ok(out) => out.role,
            Err(err) if !err.is_not_found() => return Err(err),
            Err(_) => {
                self.iam
                    .create_role()
                    .role_name(name)
                    .assume_role_policy_document(LAMBDA_TRUST_POLICY)
                    .send()
                    .await
                    .or_cloud(Operation::CreateRole, &subject)?
                    .role
            }
        };
        let arn = role
            .ok_or_else(|| missing(Operation::GetRole, &subject, "Role"))?
            .arn;
        let found = self
            .iam
            .get_role_policy()
            .role_name(name)
            .policy_name(ROLE_POLICY)
            .send()
            .await
            .or_cloud(Operation::GetRolePolicy, &subject);
        if absent_as_none(found)?.is_none() {
            self.iam
                .put_role_policy()
                .role_name(name)
                .policy_name(ROLE_POLICY)
                .policy_document(policy)
                .send()
                .await
                .or_cloud(Operation::PutRolePolicy, &subject)?;
        }
        Ok(arn)
    }

    async fn delete_repository(&self, name: &str) -> CloudResult<()> {
        let op = Operation::DeleteRepository;
        let subject = format!("repository {name}");
        self.ecr
            .delete_repository()
            .repository_name(name)
            .force(true)
            .send()
            .await
            .or_cloud(op, &subject)?;
        Ok(())
    }

    async fn delete_function_role(&self, name: &str) -> CloudResult<()> {
        let subject = format!("role {name}");
        let deleted = self
            .iam
            .delete_role_policy()
            .role_name(name)
            .policy_name(ROLE_POLICY)
            .send()
            .await
            .or_cloud(Operation::DeleteRolePolicy, &subject);
        absent_as_none(deleted)?;
        let op = Operation::DeleteRole;
        self.iam
            .delete_role()
            .role_name(name)
            .send()
            .await
            .or_cloud(op, &subject)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use aws_sdk_ecr::{
        Client,
        operation::{
            get_repository_policy::GetRepositoryPolicyOutput,
            set_repository_policy::SetRepositoryPolicyOutput,
        },
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use serde_json::{Value, json};

    use super::{Account, SdkCloud};
    use bgd_core::cloud::LAMBDA_PULL;

    const FUNCTION: &str = "arn:aws:lambda:us-east-1:123456789012:function:bgd";

    /// ECR as it answers a repository whose policy an administrator extended, and the policy
    /// provision then sets: SetRepositoryPolicy replaces the whole policy (aws-audit-3 N7), so
    /// only our statement may change, by its Sid.
    #[tokio::test]
    async fn lambdas_pull_replaces_only_its_own_statement_of_the_repository_policy_smithy_mock() {
        let cross_account = json!({
            "Sid": "CrossAccountPull",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
            "Action": "ecr:BatchGetImage",
        });
        let stale = json!({
            "Sid": LAMBDA_PULL,
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "ecr:BatchGetImage",
            "Condition": {"StringLike": {"aws:sourceArn": format!("{FUNCTION}*")}},
        });
        let current = json!({"Version": "2012-10-17", "Statement": [cross_account, stale]});
        let get = mock!(Client::get_repository_policy).then_output(move || {
            GetRepositoryPolicyOutput::builder()
                .policy_text(current.to_string())
                .build()
        });
        let sent = Arc::new(Mutex::new(None));
        let set = {
            let sent = sent.clone();
            mock!(Client::set_repository_policy)
                .match_requests(move |request| {
                    *sent.lock().unwrap() = request.policy_text().map(str::to_owned);
                    true
                })
                .then_output(|| SetRepositoryPolicyOutput::builder().build())
        };
        let cloud = SdkCloud {
            ecr: mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&get, &set]),
            ..crate::unconnected()
        };
        cloud.allow_lambda_pull("bgd", FUNCTION).await.unwrap();
        let sent: Value = serde_json::from_str(&sent.lock().unwrap().take().unwrap()).unwrap();
        let statements = sent["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 2, "{sent}");
        assert_eq!(statements[0], cross_account, "{sent}");
        assert_eq!(
            statements[1]["Condition"]["ArnLike"]["aws:sourceArn"],
            json!([FUNCTION, format!("{FUNCTION}:*")]),
            "{sent}"
        );
    }
}
