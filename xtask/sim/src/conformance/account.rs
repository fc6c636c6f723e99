//! The account's calls (STS, ECR) as the simulation answers them through the `Account` and
//! `Pruning` traits; IAM's are made in one call there (`ensure_function_role`) and answered
//! by none alone.
use serde_json::{Value, json};

use super::{ACCOUNT, REGION, SimModel, refusal};
use bgd_core::cloud::{Account, CloudError, Pruning, Repository};

impl SimModel {
    pub(super) async fn answer_account(
        &self,
        call: &str,
        i: &Value,
    ) -> Option<Result<(u16, Value), CloudError>> {
        let c = &self.cloud;
        let repository = i["repositoryName"].as_str().unwrap_or_default();
        let first = i["repositoryNames"][0].as_str().unwrap_or_default();
        Some(match call {
            "GetCallerIdentity" => c.account_id().await.map(|account| {
                let arn = format!("arn:aws:iam::{account}:user/sim");
                (
                    200,
                    json!({"Account": account, "Arn": arn, "UserId": "AIDASIM"}),
                )
            }),
            "CreateRepository" => c
                .ensure_repository(repository)
                .await
                .map(|r| (200, json!({ "repository": described(&r) }))),
            "DescribeRepositories" => c
                .repository(first)
                .await
                .map(|r| (200, json!({ "repositories": [described(&r)] }))),
            "GetAuthorizationToken" => c.registry_access().await.map(|access| {
                let data = json!({
                    "authorizationToken": "c2ltOnNpbQ==", "expiresAt": 0,
                    "proxyEndpoint": format!("http://{}", access.host),
                });
                (200, json!({ "authorizationData": [data] }))
            }),
            "GetLifecyclePolicy" => match c.lifecycle_policy(repository).await {
                Ok(Some(text)) => Ok((200, lifecycle(repository, &text))),
                Ok(None) => Ok(refusal(400, "LifecyclePolicyNotFoundException")),
                Err(e) => Err(e),
            },
            "PutLifecyclePolicy" => {
                let text = i["lifecyclePolicyText"].as_str().unwrap_or_default();
                c.put_lifecycle_policy(repository, text)
                    .await
                    .map(|()| (200, lifecycle(repository, text)))
            }
            _ => return None,
        })
    }
}

/// A repository as ECR describes it.
fn described(r: &Repository) -> Value {
    json!({
        "repositoryName": r.name, "repositoryUri": r.uri, "registryId": ACCOUNT,
        "repositoryArn": format!("arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{}", r.name),
        "imageTagMutability": "MUTABLE",
    })
}

fn lifecycle(repository: &str, text: &str) -> Value {
    json!({"registryId": ACCOUNT, "repositoryName": repository, "lifecyclePolicyText": text})
}
