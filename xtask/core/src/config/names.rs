//! The stack's names, ARNs and URLs, from deploy.toml's project: one name for the function,
//! the repository and the API, and every ARN and URL a verb, a policy or a probe needs.
use super::Config;

impl Config {
    pub fn function_name(&self) -> &str {
        &self.project.name
    }

    pub fn repository_name(&self) -> &str {
        &self.project.name
    }

    pub fn api_name(&self) -> &str {
        &self.project.name
    }

    pub fn role_name(&self) -> String {
        format!("{}-lambda", self.project.name)
    }

    /// The permission statement that lets API Gateway invoke one alias; fixed per alias, so
    /// repeated deploys never grow the function's policy.
    pub fn permission_statement_id(&self, alias: &str) -> String {
        format!("{}-apigateway-{alias}", self.project.name)
    }

    /// Calls from one stage of the API only (any method, any path).
    pub fn stage_source_arn(&self, account: &str, api_id: &str, stage: &str) -> String {
        format!(
            "arn:aws:execute-api:{}:{account}:{api_id}/{stage}/*/*",
            self.project.region
        )
    }

    /// Where a stage answers: API Gateway's execute-api, or the local gateway.
    pub fn stage_url(&self, api_id: &str, stage: &str, local_gateway: Option<&str>) -> String {
        match local_gateway {
            Some(gateway) => format!(
                "{}/restapis/{api_id}/{stage}/_user_request_",
                gateway.trim_end_matches('/')
            ),
            None => format!(
                "https://{api_id}.execute-api.{}.amazonaws.com/{stage}",
                self.project.region
            ),
        }
    }

    /// The tag every pushed image gets (an untagged image is invisible to tag listings and to
    /// untagged-image lifecycle rules).
    pub(crate) fn image_tag(git_sha: &str, build_id: Option<&str>) -> String {
        let sha = crate::ledger::short(git_sha);
        match build_id {
            Some(id) => format!("git-{sha}-{id}"),
            None => format!("git-{sha}"),
        }
    }

    pub fn function_arn(&self, account: &str) -> String {
        format!(
            "arn:aws:lambda:{}:{account}:function:{}",
            self.project.region,
            self.function_name()
        )
    }

    /// The function, its versions and aliases (`:N`, `:blue`): Lambda authorises qualified
    /// calls against the qualified ARN.
    pub fn function_arns(&self, account: &str) -> Vec<String> {
        let arn = self.function_arn(account);
        vec![format!("{arn}:*"), arn]
    }

    pub fn repository_arn(&self, account: &str) -> String {
        format!(
            "arn:aws:ecr:{}:{account}:repository/{}",
            self.project.region,
            self.repository_name()
        )
    }

    pub fn role_arn(&self, account: &str) -> String {
        format!("arn:aws:iam::{account}:role/{}", self.role_name())
    }

    /// The function role's permissions: its own log group only.
    pub fn logs_policy(&self, account: &str) -> String {
        logs_policy(&self.project.region, account, self.function_name())
    }
}

/// Writing to the log group Lambda sends `function`'s output to (`/aws/lambda/NAME`), and no
/// other: the scoped form of AWSLambdaBasicExecutionRole, whose Resource is `*`
/// (<https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html>).
pub fn logs_policy(region: &str, account: &str, function: &str) -> String {
    let group = format!("arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{function}");
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [&group, format!("{group}:*")],
        }],
    })
    .to_string()
}
