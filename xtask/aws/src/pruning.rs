//! [`Pruning`] on Lambda and ECR: deleting old versions and their images, and the lifecycle
//! policy that keeps verified images.
use aws_sdk_ecr::types::ImageIdentifier;

use super::{CloudResult, Operation, Pruning, SdkCloud, absent_as_none, error::OrCloud};

impl Pruning for SdkCloud {
    async fn delete_version(&self, function: &str, version: &str) -> CloudResult<()> {
        let op = Operation::DeleteFunction;
        let subject = format!("version {version} of {function}");
        self.lambda
            .delete_function()
            .function_name(function)
            .qualifier(version)
            .send()
            .await
            .or_cloud(op, &subject)?;
        Ok(())
    }

    async fn delete_image(&self, repository: &str, digest: &str) -> CloudResult<()> {
        let op = Operation::BatchDeleteImage;
        let subject = format!("image {digest} of {repository}");
        let image = ImageIdentifier::builder().image_digest(digest).build();
        let out = self
            .ecr
            .batch_delete_image()
            .repository_name(repository)
            .image_ids(image)
            .send()
            .await
            .or_cloud(op, &subject)?;
        // ECR answers 200 and lists per image what it could not delete; an image already
        // gone is what was wanted.
        let failed = out
            .failures()
            .iter()
            .filter(|f| {
                f.failure_code()
                    .is_none_or(|c| c.as_str() != "ImageNotFound")
            })
            .map(|f| f.failure_reason().unwrap_or("no reason given").to_owned())
            .collect::<Vec<_>>();
        if let Some(reason) = failed.first() {
            return Err(super::CloudError::new(
                super::ErrorKind::Other,
                op,
                &subject,
                reason.clone(),
            ));
        }
        Ok(())
    }

    async fn lifecycle_policy(&self, repository: &str) -> CloudResult<Option<String>> {
        let op = Operation::GetLifecyclePolicy;
        let subject = format!("the lifecycle policy of {repository}");
        let out = self
            .ecr
            .get_lifecycle_policy()
            .repository_name(repository)
            .send()
            .await
            .or_cloud(op, &subject);
        Ok(absent_as_none(out)?.and_then(|out| out.lifecycle_policy_text))
    }

    async fn put_lifecycle_policy(&self, repository: &str, policy: &str) -> CloudResult<()> {
        let op = Operation::PutLifecyclePolicy;
        let subject = format!("the lifecycle policy of {repository}");
        self.ecr
            .put_lifecycle_policy()
            .repository_name(repository)
            .lifecycle_policy_text(policy)
            .send()
            .await
            .or_cloud(op, &subject)?;
        Ok(())
    }
}
