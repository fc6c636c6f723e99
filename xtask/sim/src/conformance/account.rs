//! The account's calls in the in-memory model: STS and ECR's calls through the `Account` and
//! `Pruning` traits where the pipeline makes them so; ECR's others (`ecr.rs`) and IAM's one call
//! at a time (`iam.rs`; the trait makes the role in one, `ensure_function_role`) by the model's
//! own operations.
use serde_json::{Value, json};

use super::{ACCOUNT, REGION, Reply, SimModel, refusal, wire};
use crate::{
    ecr,
    iam::{IamRole, no_such_role},
};
use bgd_core::{
    cloud::{Account, Pruning, Repository},
    image::Registry,
};

impl SimModel {
    pub(super) async fn answer_account(&self, call: &str, i: &Value) -> Option<Reply> {
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
            "CreateRepository" => {
                let created = ecr::create_repository(&mut self.world(), repository);
                if let Err(refused) = created {
                    return Some(wire(Err(refused)));
                }
                c.repository(repository)
                    .await
                    .map(|r| (200, json!({ "repository": described(&r) })))
            }
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
            "PushImage" => {
                let tag = i["imageTag"].as_str().unwrap_or_default();
                let image = bgd_core::image::Image::conformance().ok()?;
                let pushed = Registry::push(c, repository, &image, &[tag]).await;
                Ok(match pushed {
                    Ok(digest) => (200, json!({ "imageDigest": digest })),
                    Err(_) => refusal(404, "NAME_UNKNOWN"),
                })
            }
            "PutLifecyclePolicy" => {
                let text = i["lifecyclePolicyText"].as_str().unwrap_or_default();
                c.put_lifecycle_policy(repository, text)
                    .await
                    .map(|()| (200, lifecycle(repository, text)))
            }
            _ => {
                return self
                    .answer_images(call, i)
                    .or_else(|| self.answer_iam(call, i));
            }
        })
    }

    /// ECR's calls the traits do not make one at a time.
    fn answer_images(&self, call: &str, i: &Value) -> Option<Reply> {
        let repository = i["repositoryName"].as_str().unwrap_or_default();
        let policy = |text: &str| json!({"registryId": ACCOUNT, "repositoryName": repository, "policyText": text});
        let ids: Vec<Value> = i["imageIds"].as_array().cloned().unwrap_or_default();
        let mut w = self.world();
        Some(wire(match call {
            "SetRepositoryPolicy" => {
                let text = i["policyText"].as_str().unwrap_or_default();
                ecr::set_repository_policy(&mut w, repository, text).map(|()| (200, policy(text)))
            }
            "GetRepositoryPolicy" => {
                ecr::repository_policy(&w, repository).map(|text| (200, policy(&text)))
            }
            "BatchDeleteImage" => {
                ecr::batch_delete_image(&mut w, repository, &ids).map(|out| (200, out))
            }
            "DescribeImages" => ecr::describe_images(&w, repository, &ids).map(|out| (200, out)),
            _ => return None,
        }))
    }

    /// IAM's calls one at a time, answered as the SDK parses IAM's XML (as the wire model
    /// judges them).
    fn answer_iam(&self, call: &str, i: &Value) -> Option<Reply> {
        let s = |k: &str| i[k].as_str().unwrap_or_default();
        let (name, policy) = (s("RoleName"), s("PolicyName"));
        let mut w = self.world();
        Some(wire(match call {
            "CreateRole" => w
                .create_role(name, s("AssumeRolePolicyDocument"))
                // CreateRole's answer names no MaxSessionDuration (recorded: LocalStack's
                // AWS-validated test_create_describe_role, create_role_result).
                .map(|role| (200, role_answer(name, role, None))),
            "GetRole" => w
                .roles
                .get(name)
                .ok_or_else(|| no_such_role(name))
                // IAM's default session duration, one hour (API_Role).
                .map(|role| (200, role_answer(name, role, Some(3600)))),
            "PutRolePolicy" => w
                .put_role_policy(name, policy, s("PolicyDocument"))
                .map(|()| (200, Value::Null)),
            "GetRolePolicy" => w
                .roles
                .get(name)
                .and_then(|role| role.policies.get(policy))
                .ok_or_else(|| no_such_role(name))
                .map(|document| {
                    let answer =
                        json!({"RoleName": name, "PolicyName": policy, "PolicyDocument": document});
                    (200, answer)
                }),
            _ => return None,
        }))
    }
}

fn role_answer(name: &str, role: &IamRole, max_session: Option<u32>) -> Value {
    json!({"Role": {
        "RoleName": name, "Arn": format!("arn:aws:iam::{ACCOUNT}:role/{name}"), "Path": "/",
        "RoleId": role.id, "CreateDate": role.created_ms, "AssumeRolePolicyDocument": role.trust,
        "MaxSessionDuration": max_session,
    }})
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
