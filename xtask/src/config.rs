//! deploy.toml, typed: the one file users edit, and the only place resource names, ARNs and
//! URLs are built, so AWS and the local cloud agree on every name.
use std::{collections::BTreeMap, path::Path, time::Duration};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::{cloud::Settings, setup};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub project: Project,
    pub function: Function,
    #[serde(default)]
    pub app: App,
    #[serde(default)]
    pub smoke: Vec<Smoke>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Project {
    /// Prefix of every resource name.
    pub name: String,
    pub region: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Function {
    #[serde(default = "default_architecture")]
    pub architecture: String,
    #[serde(default = "default_memory")]
    pub memory_mb: u32,
    #[serde(default = "default_timeout")]
    pub timeout_s: u32,
    /// Values may be `${VAR}` references, resolved from the deploying environment.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct App {
    #[serde(default)]
    pub required_env: Vec<String>,
}

/// A request made against blue (then green) once the self-report matches.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Smoke {
    pub path: String,
    #[serde(default = "default_status")]
    pub status: u16,
    pub contains: Option<String>,
}

fn resolve(name: &str, value: &str) -> Result<String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        let end = rest[start..]
            .find('}')
            .with_context(|| format!("[function.environment] {name}: unclosed ${{ in its value"))?;
        let var = &rest[start + 2..start + end];
        let found = std::env::var(var).with_context(|| {
            format!("[function.environment] {name} refers to ${{{var}}}, which is not set in this environment: export {var}")
        })?;
        out.push_str(&rest[..start]);
        out.push_str(&found);
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn default_architecture() -> String {
    "x86_64".into()
}
fn default_memory() -> u32 {
    256
}
fn default_timeout() -> u32 {
    10
}
fn default_status() -> u16 {
    200
}

impl Config {
    /// Reads deploy.toml at the workspace root, or the file `BGD_DEPLOY_TOML` names (the
    /// end-to-end tests deploy under names of their own).
    pub fn load() -> Result<Self> {
        match std::env::var_os("BGD_DEPLOY_TOML") {
            Some(path) => Self::from_file(Path::new(&path)),
            None => Self::from_file(&setup::workspace_root().join("deploy.toml")),
        }
    }

    pub fn from_file(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("{} is not valid", path.display()))
    }

    /// Parses and checks; toml's errors name the key, line and column.
    pub fn parse(text: &str) -> Result<Self> {
        let config: Self = toml::from_str(text)?;
        let name = &config.project.name;
        let valid_name = !name.is_empty()
            && name.len() <= 40
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && name.as_bytes()[0].is_ascii_lowercase();
        if !valid_name {
            bail!(
                "[project] name {name:?}: use 1-40 lowercase letters, digits and '-', starting with a letter (it names the function, repository, API and role)"
            );
        }
        setup::musl_target(&config.function.architecture)?;
        if !(128..=10240).contains(&config.function.memory_mb) {
            bail!(
                "[function] memory_mb = {}: Lambda allows 128 to 10240",
                config.function.memory_mb
            );
        }
        if !(1..=900).contains(&config.function.timeout_s) {
            bail!(
                "[function] timeout_s = {}: Lambda allows 1 to 900",
                config.function.timeout_s
            );
        }
        Ok(config)
    }

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

    /// `[function.environment]` with `${VAR}` references filled in from the deploying
    /// environment; a reference to an unset variable is an error naming it (never the value).
    pub fn resolved_environment(&self) -> Result<BTreeMap<String, String>> {
        self.function
            .environment
            .iter()
            .map(|(name, value)| Ok((name.clone(), resolve(name, value)?)))
            .collect()
    }

    /// The settings the function must run with, as deploy.toml says.
    pub fn settings(&self) -> Result<Settings> {
        Ok(Settings {
            environment: self.resolved_environment()?,
            memory_mb: self.function.memory_mb,
            timeout: Duration::from_secs(self.function.timeout_s.into()),
        })
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
    pub fn image_tag(git_sha: &str, build_id: Option<&str>) -> String {
        let sha = &git_sha[..git_sha.len().min(12)];
        match build_id {
            Some(id) => format!("git-{sha}-{id}"),
            None => format!("git-{sha}"),
        }
    }

    /// The tag that marks version N as verified and promoted (also keeps it from
    /// untagged-image lifecycle rules).
    pub fn verified_tag(version: u64) -> String {
        format!("verified-{version}")
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

    /// API Gateway's resources for REST APIs in the region: the collection (GetRestApis,
    /// CreateRestApi) and everything under one. The API id is unknown before provision, so
    /// this is scoped to the region's REST APIs, not one API.
    pub fn apigateway_arns(&self) -> Vec<String> {
        let region = &self.project.region;
        vec![
            format!("arn:aws:apigateway:{region}::/restapis"),
            format!("arn:aws:apigateway:{region}::/restapis/*"),
        ]
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

#[cfg(test)]
mod tests {
    use super::Config;

    #[test]
    fn the_shipped_deploy_toml_is_valid() {
        let config = Config::load().unwrap();
        assert!(
            config
                .app
                .required_env
                .iter()
                .all(|name| config.function.environment.contains_key(name))
        );
    }

    #[test]
    fn an_unknown_key_is_named_with_its_line() {
        let err = Config::parse(
            "[project]\nname = \"x\"\nregion = \"us-east-1\"\nnmae = 1\n[function]\n",
        )
        .unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("nmae") && text.contains("line 4"), "{text}");
    }

    #[test]
    fn environment_references_resolve_from_the_deploying_environment() {
        let text = "[project]\nname = \"x\"\nregion = \"r\"\n[function.environment]\nA = \"${PATH}\"\nB = \"plain\"\nC = \"${BGD_SURELY_UNSET_VAR}\"\n";
        let config = Config::parse(text).unwrap();
        let err = config.resolved_environment().unwrap_err().to_string();
        assert!(
            err.contains("BGD_SURELY_UNSET_VAR") && err.contains("[function.environment] C"),
            "{err}"
        );
        let mut config = config;
        config.function.environment.remove("C");
        let env = config.resolved_environment().unwrap();
        assert_eq!(env["A"], std::env::var("PATH").unwrap());
        assert_eq!(env["B"], "plain");
    }

    #[test]
    fn a_bad_architecture_says_what_lambda_runs() {
        let err = Config::parse(
            "[project]\nname = \"x\"\nregion = \"r\"\n[function]\narchitecture = \"mips\"\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("arm64"), "{err}");
    }
}
