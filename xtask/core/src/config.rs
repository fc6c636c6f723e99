//! deploy.toml, typed: the one file users edit, and the only place resource names, ARNs and
//! URLs are built, so AWS and the local cloud agree on every name.
mod environments;
mod names;
mod rollout;
mod smoke;

use std::{collections::BTreeMap, path::Path, time::Duration};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::{cloud::Settings, secret::Secret, setup};
use bgd_rules::ENVIRONMENT_LIMIT;
pub use environments::{Environment, Placement};
pub use names::logs_policy;
pub use rollout::{Rollout, Strategy, parse_duration, show as show_duration};
pub use smoke::Smoke;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub project: Project,
    pub function: Function,
    #[serde(default)]
    pub app: App,
    #[serde(default)]
    pub smoke: Vec<Smoke>,
    #[serde(default)]
    pub rollout: Rollout,
    #[serde(default)]
    pub environments: BTreeMap<String, Environment>,
    /// Set on deploy.toml as one environment sees it in one region ([`Config::in_environment`]).
    #[serde(skip)]
    pub placement: Option<Placement>,
    /// The file as written, which an environment's values are layered over.
    #[serde(skip)]
    raw: toml::Table,
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

/// The Lambda itself: which cargo package and binary it is, and what it needs at run time.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct App {
    /// The package whose binary is the function (`cargo build --package`).
    #[serde(default = "default_package")]
    pub package: String,
    /// That package's binary (`--bin`); the image holds it as `/bootstrap` whatever its name.
    #[serde(default = "default_binary")]
    pub binary: String,
    #[serde(default)]
    pub required_env: Vec<String>,
    /// Where the deploy contract answers, as bgd-contract bakes them in from this file: every
    /// check of a stage asks these paths.
    #[serde(default = "default_version_path")]
    pub version_path: String,
    #[serde(default = "default_health_path")]
    pub health_path: String,
}

/// bgd's own sample, so a deploy.toml written before `package` and `binary` existed works.
impl Default for App {
    fn default() -> Self {
        Self {
            package: default_package(),
            binary: default_binary(),
            required_env: Vec::new(),
            version_path: default_version_path(),
            health_path: default_health_path(),
        }
    }
}

impl App {
    /// The contract's paths, as the checks of a stage ask them.
    pub fn paths(&self) -> ContractPaths {
        ContractPaths {
            version: self.version_path.clone(),
            health: self.health_path.clone(),
        }
    }
}

/// Where a stage's Lambda answers the deploy contract: its self-report and its health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractPaths {
    pub version: String,
    pub health: String,
}

impl Default for ContractPaths {
    fn default() -> Self {
        App::default().paths()
    }
}

/// Environment names Lambda sets itself and refuses in a function's configuration
/// (<https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime>).
const RESERVED_ENV: [&str; 18] = [
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// The partitions other than `aws`, by the prefix of their regions' names, as the SDK's
/// endpoint rules list them (aws-sdk-lambda 1.156's `endpoint_lib.rs`, each partition's
/// `regionRegex`). Their ARNs begin `arn:aws-us-gov:`, `arn:aws-cn:` and so on, and China's
/// endpoints end `amazonaws.com.cn`
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html>): every ARN, policy
/// and URL here is the `aws` partition's, so a region of these is refused (aws-audit-3 N12).
const OTHER_PARTITIONS: &[(&str, &str)] = &[
    ("us-gov-", "aws-us-gov"),
    ("cn-", "aws-cn"),
    ("us-iso-", "aws-iso"),
    ("us-isob-", "aws-iso-b"),
    ("us-isof-", "aws-iso-f"),
    ("eu-isoe-", "aws-iso-e"),
    ("eusc-", "aws-eusc"),
];

/// A region name as AWS spells them (`us-east-1`, `ap-southeast-2`, `il-central-1`).
fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let letters = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase());
    match parts.as_slice() {
        [area, middle @ .., number] => {
            area.len() == 2
                && letters(area)
                && !middle.is_empty()
                && middle.iter().all(|p| letters(p))
                && !number.is_empty()
                && number.bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    }
}

/// A `[function.environment]` name Lambda accepts.
fn check_env_name(name: &str) -> Result<()> {
    if RESERVED_ENV.contains(&name) {
        bail!(
            "[function.environment] {name}: Lambda sets {name} itself and refuses it in a function's configuration; remove it"
        );
    }
    let mut bytes = name.bytes();
    let valid = bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && name.len() >= 2;
    if !valid {
        bail!(
            "[function.environment] {name:?}: Lambda takes names of 2 or more letters, digits and '_', starting with a letter"
        );
    }
    Ok(())
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
        crate::secret::register(&found);
        out.push_str(&rest[..start]);
        out.push_str(&found);
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn default_package() -> String {
    "app".into()
}
fn default_binary() -> String {
    "bootstrap".into()
}
fn default_version_path() -> String {
    "/version".into()
}
fn default_health_path() -> String {
    "/health".into()
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
        let mut config: Self = toml::from_str(text)?;
        config.raw = toml::from_str(text)?;
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
        let region = &config.project.region;
        if let Some((_, partition)) = OTHER_PARTITIONS
            .iter()
            .find(|(prefix, _)| region.starts_with(prefix))
        {
            bail!(
                "[project] region = {region:?} is in AWS partition {partition}: bgd writes the ARNs, policies and URLs of the aws partition only (arn:aws:…, amazonaws.com), so it cannot deploy there"
            );
        }
        if !is_region(region) {
            bail!("[project] region = {region:?}: not an AWS region name (like \"us-east-1\")");
        }
        setup::musl_target(&config.function.architecture)?;
        config
            .function
            .environment
            .keys()
            .try_for_each(|name| check_env_name(name))?;
        for (i, smoke) in config.smoke.iter().enumerate() {
            smoke
                .check()
                .with_context(|| format!("[[smoke]] number {} ({})", i + 1, smoke.path))?;
        }
        config.rollout.check()?;
        for (key, path) in [
            ("version_path", &config.app.version_path),
            ("health_path", &config.app.health_path),
        ] {
            let valid = path.len() > 1
                && path.starts_with('/')
                && !path.contains(['?', '#', ' ', '"', '\\'])
                && !path.ends_with('/');
            if !valid {
                bail!(
                    "[app] {key} = {path:?}: a path like \"/version\" (a leading '/', no query, no trailing '/')"
                );
            }
        }
        if config.app.version_path == config.app.health_path {
            bail!(
                "[app] version_path and health_path are both {:?}: give each its own path",
                config.app.health_path
            );
        }
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
        config.check_environments()?;
        Ok(config)
    }

    /// `[function.environment]` with `${VAR}` references filled in from the deploying
    /// environment; a reference to an unset variable is an error naming it (never the value).
    pub(crate) fn resolved_environment(&self) -> Result<BTreeMap<String, String>> {
        self.function
            .environment
            .iter()
            .map(|(name, value)| Ok((name.clone(), resolve(name, value)?)))
            .collect()
    }

    /// The settings the function must run with, as deploy.toml says. Checked against
    /// Lambda's environment limit here, before any call, measured as Lambda measures it (the
    /// variables' JSON, by the one rule): Lambda's own error quotes the values, escaped. Adding
    /// up names and values passed 3,977 bytes whose JSON Lambda refused (security-audit-3 #1).
    pub fn settings(&self) -> Result<Settings> {
        let environment = self.resolved_environment()?;
        let size = bgd_rules::environment_size(&environment);
        if size > ENVIRONMENT_LIMIT {
            let mut names: Vec<(&String, usize)> =
                environment.iter().map(|(k, v)| (k, v.len())).collect();
            names.sort_by_key(|&(_, len)| std::cmp::Reverse(len));
            let largest: Vec<String> = names
                .iter()
                .take(3)
                .map(|(name, len)| format!("{name} ({len} bytes)"))
                .collect();
            bail!(
                "[function.environment] holds {size} bytes once resolved, measured as Lambda does (as JSON); Lambda allows {ENVIRONMENT_LIMIT}: the largest are {}",
                largest.join(", ")
            );
        }
        Ok(Settings {
            // Resolved `${VAR}` values were registered for redaction as they were read.
            environment: environment
                .into_iter()
                .map(|(name, value)| (name, Secret::from(value)))
                .collect(),
            memory_mb: self.function.memory_mb,
            timeout: Duration::from_secs(self.function.timeout_s.into()),
        })
    }
}

#[cfg(test)]
mod tests;
