//! Writes no verb makes: what an operator sets up by hand once (docs/aws.md: GitHub's OIDC
//! provider, the deploy role and its policy) and what the end-to-end tests break on purpose
//! (a permission, the repository policy) or set (an alarm's state). Through the SDK like every other call, so the
//! tests never speak AWS's wire protocols themselves. Not in the deploy role's policy:
//! `cargo xtask` itself never calls them.
use std::future::Future;

use anyhow::{Context, Result};
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, StateValue, Statistic};
use aws_sdk_lambda::error::DisplayErrorContext;
use serde_json::Value;

use super::{SdkCloud, cloudwatch::PERIOD};

/// An operator's writes, beside the pipeline's.
pub trait Operator: Send + Sync {
    /// CreateOpenIDConnectProvider for `url` (`https://HOST`), accepting `client_ids`.
    fn create_oidc_provider(
        &self,
        url: &str,
        client_ids: &[&str],
    ) -> impl Future<Output = Result<()>> + Send;
    /// CreateRole `name` trusted by `trust`.
    fn create_role(&self, name: &str, trust: &Value) -> impl Future<Output = Result<()>> + Send;
    /// UpdateAssumeRolePolicy: `name`'s trust becomes `trust`.
    fn update_trust(&self, name: &str, trust: &Value) -> impl Future<Output = Result<()>> + Send;
    /// PutRolePolicy: the inline policy `policy` of role `role` becomes `document`.
    fn put_role_policy(
        &self,
        role: &str,
        policy: &str,
        document: &Value,
    ) -> impl Future<Output = Result<()>> + Send;
    /// RemovePermission: the statement `statement_id` of `function:qualifier`'s policy.
    fn remove_permission(
        &self,
        function: &str,
        qualifier: &str,
        statement_id: &str,
    ) -> impl Future<Output = Result<()>> + Send;
    /// SetRepositoryPolicy of `repository`: a policy written by hand.
    fn set_repository_policy(
        &self,
        repository: &str,
        policy: &Value,
    ) -> impl Future<Output = Result<()>> + Send;
    /// PutMetricAlarm `name` on green's errors unless it exists, then SetAlarmState `state`
    /// (`OK`, `ALARM`): an operator's alarm, for the tests that watch a rollout answer it.
    fn set_alarm(
        &self,
        function: &str,
        name: &str,
        state: &str,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// The SDK's error with its whole chain, for a call a user runs by hand.
fn failed(call: &str, error: impl std::error::Error) -> anyhow::Error {
    anyhow::anyhow!("{call}: {}", DisplayErrorContext(error))
}

impl Operator for SdkCloud {
    async fn create_oidc_provider(&self, url: &str, client_ids: &[&str]) -> Result<()> {
        let mut call = self.iam.create_open_id_connect_provider().url(url);
        for id in client_ids {
            call = call.client_id_list(*id);
        }
        call.send()
            .await
            .map_err(|e| failed("CreateOpenIDConnectProvider", e))?;
        Ok(())
    }

    async fn create_role(&self, name: &str, trust: &Value) -> Result<()> {
        self.iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .map_err(|e| failed("CreateRole", e))?;
        Ok(())
    }

    async fn update_trust(&self, name: &str, trust: &Value) -> Result<()> {
        self.iam
            .update_assume_role_policy()
            .role_name(name)
            .policy_document(trust.to_string())
            .send()
            .await
            .map_err(|e| failed("UpdateAssumeRolePolicy", e))?;
        Ok(())
    }

    async fn put_role_policy(&self, role: &str, policy: &str, document: &Value) -> Result<()> {
        self.iam
            .put_role_policy()
            .role_name(role)
            .policy_name(policy)
            .policy_document(document.to_string())
            .send()
            .await
            .map_err(|e| failed("PutRolePolicy", e))?;
        Ok(())
    }

    async fn remove_permission(
        &self,
        function: &str,
        qualifier: &str,
        statement_id: &str,
    ) -> Result<()> {
        self.lambda
            .remove_permission()
            .function_name(function)
            .qualifier(qualifier)
            .statement_id(statement_id)
            .send()
            .await
            .map_err(|e| failed("RemovePermission", e))?;
        Ok(())
    }

    async fn set_repository_policy(&self, repository: &str, policy: &Value) -> Result<()> {
        self.ecr
            .set_repository_policy()
            .repository_name(repository)
            .policy_text(policy.to_string())
            .send()
            .await
            .map_err(|e| failed("SetRepositoryPolicy", e))
            .with_context(|| format!("repository {repository}"))?;
        Ok(())
    }

    async fn set_alarm(&self, function: &str, name: &str, state: &str) -> Result<()> {
        let green = Dimension::builder()
            .name("Resource")
            .value(format!("{function}:green"))
            .build();
        self.cloudwatch
            .put_metric_alarm()
            .alarm_name(name)
            .namespace("AWS/Lambda")
            .metric_name("Errors")
            .dimensions(green)
            .statistic(Statistic::Sum)
            .period(PERIOD.as_secs() as i32)
            .evaluation_periods(1)
            .threshold(1.0)
            .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
            .send()
            .await
            .map_err(|e| failed(&format!("PutMetricAlarm {name}"), e))?;
        self.cloudwatch
            .set_alarm_state()
            .alarm_name(name)
            .state_value(StateValue::from(state))
            .state_reason(format!("set to {state} by hand"))
            .send()
            .await
            .map_err(|e| failed(&format!("SetAlarmState {name}"), e))?;
        Ok(())
    }
}
