//! [`Account`] on STS, ECR and IAM.
use base64::Engine;

use super::{
    Account, CloudError, CloudResult, ErrorKind, Operation, ROLE_POLICY, RegistryAccess,
    Repository, SdkCloud, absent_as_none,
    error::{OrCloud, missing},
};
use bgd_core::secret::Secret;

/// Lets Lambda assume the function's role
/// (<https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html>).
const LAMBDA_TRUST_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

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
        let op = Operation::SetRepositoryPolicy;
        let subject = format!("repository {repository}");
        let policy = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "LambdaECRImageRetrievalPolicy",
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                // The function and its versions and aliases, no other function: `NAME*` also
                // let `NAME-other` pull (security-audit-3 N15).
                "Condition": {"ArnLike": {"aws:sourceArn": [function_arn, format!("{function_arn}:*")]}},
            }],
        });
        self.ecr
            .set_repository_policy()
            .repository_name(repository)
            .policy_text(policy.to_string())
            .send()
            .await
            .or_cloud(op, &subject)?;
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
