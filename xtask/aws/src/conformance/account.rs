//! The account's services over the wire: ECR (AWS JSON 1.1, judged as received), the image
//! pushed over the registry's own API, IAM and STS (XML, judged as the SDK parsed them).
use aws_sdk_ecr::types::ImageIdentifier;
use serde_json::{Value, json};

use super::WireModel;
use bgd_core::{cloud::Account, image::Registry, pipeline::Cloud};

impl WireModel {
    pub(super) async fn send_account(
        &self,
        call: &str,
        i: &Value,
    ) -> Option<Result<(), (u16, String)>> {
        let s = |k: &str| i[k].as_str().map(str::to_owned);
        let (e, repository) = (&self.ecr, s("repositoryName"));
        let images = || {
            i["imageIds"].as_array().map(|ids| {
                ids.iter()
                    .map(|id| {
                        ImageIdentifier::builder()
                            .set_image_digest(id["imageDigest"].as_str().map(str::to_owned))
                            .set_image_tag(id["imageTag"].as_str().map(str::to_owned))
                            .build()
                    })
                    .collect()
            })
        };
        match call {
            "DescribeRepositories" => {
                let names = i["repositoryNames"].as_array().map(|names| {
                    names
                        .iter()
                        .filter_map(|n| n.as_str().map(str::to_owned))
                        .collect()
                });
                sent!(e.describe_repositories().set_repository_names(names))
            }
            "CreateRepository" => sent!(e.create_repository().set_repository_name(repository)),
            "GetAuthorizationToken" => sent!(e.get_authorization_token()),
            "GetRepositoryPolicy" => {
                sent!(e.get_repository_policy().set_repository_name(repository))
            }
            "SetRepositoryPolicy" => sent!(
                e.set_repository_policy()
                    .set_repository_name(repository)
                    .set_policy_text(s("policyText"))
            ),
            "GetLifecyclePolicy" => sent!(e.get_lifecycle_policy().set_repository_name(repository)),
            "PutLifecyclePolicy" => sent!(
                e.put_lifecycle_policy()
                    .set_repository_name(repository)
                    .set_lifecycle_policy_text(s("lifecyclePolicyText"))
            ),
            "BatchDeleteImage" => sent!(
                e.batch_delete_image()
                    .set_repository_name(repository)
                    .set_image_ids(images())
            ),
            "DescribeImages" => sent!(
                e.describe_images()
                    .set_repository_name(repository)
                    .set_image_ids(images())
            ),
            "PushImage" => self.push_image(i).await,
            _ => self.send_iam(call, i).await,
        }
    }

    /// The conformance image pushed as the pipeline pushes (`Given::Image`): its digest is the
    /// answer.
    async fn push_image(&self, i: &Value) -> Option<Result<(), (u16, String)>> {
        let (repository, tag) = (i["repositoryName"].as_str()?, i["imageTag"].as_str()?);
        let pushed = async {
            let access = self.cloud.registry_access().await?;
            let registry = self.cloud.registry_client(access)?;
            let image = bgd_core::image::Image::conformance()?;
            registry.push(repository, &image, &[tag]).await
        };
        Some(match pushed.await {
            Ok(digest) => {
                let answer = (200, json!({ "imageDigest": digest }));
                *self.received.0.lock().expect("lock") = Some(answer);
                Ok(())
            }
            Err(e) => Err((0, format!("{e:#}"))),
        })
    }

    /// IAM's calls, and STS's one.
    async fn send_iam(&self, call: &str, i: &Value) -> Option<Result<(), (u16, String)>> {
        let s = |k: &str| i[k].as_str().map(str::to_owned);
        let role = |r: Option<&aws_sdk_iam::types::Role>| {
            r.map_or(Value::Null, |r| {
                json!({"Role": {
                    "RoleName": r.role_name(), "Arn": r.arn(), "Path": r.path(),
                    "RoleId": r.role_id(), "CreateDate": r.create_date().to_string(),
                    "AssumeRolePolicyDocument": r.assume_role_policy_document(),
                    "MaxSessionDuration": r.max_session_duration(),
                }})
            })
        };
        match call {
            "GetCallerIdentity" => parsed!(
                self,
                self.sts.get_caller_identity(),
                |out: aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput| {
                    json!({"Account": out.account(), "Arn": out.arn(), "UserId": out.user_id()})
                }
            ),
            "CreateRole" => parsed!(
                self,
                self.iam
                    .create_role()
                    .set_role_name(s("RoleName"))
                    .set_assume_role_policy_document(s("AssumeRolePolicyDocument")),
                |out: aws_sdk_iam::operation::create_role::CreateRoleOutput| role(out.role())
            ),
            "GetRole" => parsed!(
                self,
                self.iam.get_role().set_role_name(s("RoleName")),
                |out: aws_sdk_iam::operation::get_role::GetRoleOutput| role(out.role())
            ),
            "PutRolePolicy" => parsed!(
                self,
                self.iam
                    .put_role_policy()
                    .set_role_name(s("RoleName"))
                    .set_policy_name(s("PolicyName"))
                    .set_policy_document(s("PolicyDocument")),
                |_| Value::Null
            ),
            "GetRolePolicy" => parsed!(
                self,
                self.iam
                    .get_role_policy()
                    .set_role_name(s("RoleName"))
                    .set_policy_name(s("PolicyName")),
                |out: aws_sdk_iam::operation::get_role_policy::GetRolePolicyOutput| {
                    json!({"RoleName": out.role_name(), "PolicyName": out.policy_name(),
                        "PolicyDocument": out.policy_document()})
                }
            ),
            _ => None,
        }
    }
}
