//! What the cloud module hands out: our own types for versions, aliases, stages, routes and
//! images, so nothing outside `cloud/` sees an SDK type.
use std::{collections::BTreeMap, fmt, time::Duration};

use serde::Serialize;

use crate::secret::{Secret, hiding};

/// An image in a repository, always addressed by digest (Lambda pins what it resolved anyway).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ImageRef {
    /// The registry host Lambda is told about (`ACCT.dkr.ecr.REGION.amazonaws.com`).
    pub registry: String,
    pub repository: String,
    /// `sha256:<hex>`.
    pub digest: String,
}

impl ImageRef {
    /// Parses `HOST/REPO@sha256:HEX`.
    pub fn parse(uri: &str) -> Option<Self> {
        let (name, digest) = uri.split_once('@')?;
        let (registry, repository) = name.split_once('/')?;
        let hex = digest.strip_prefix("sha256:")?;
        let valid = hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit());
        valid.then(|| Self {
            registry: registry.to_owned(),
            repository: repository.to_owned(),
            digest: digest.to_owned(),
        })
    }

    /// The ImageUri given to Lambda.
    pub fn uri(&self) -> String {
        format!("{}/{}@{}", self.registry, self.repository, self.digest)
    }

    /// The digest's hex, which is what Lambda reports as CodeSha256 for an image.
    pub fn digest_hex(&self) -> &str {
        self.digest.trim_start_matches("sha256:")
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.uri())
    }
}

/// What a version runs with: the part of a function configuration deploy.toml decides. Not
/// `Serialize`: the environment's values are secrets (resolved `${VAR}`s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub environment: BTreeMap<String, Secret>,
    pub memory_mb: u32,
    pub timeout: Duration,
}

impl Settings {
    /// The environment's values as sent to Lambda: only where they leave for AWS.
    pub fn exposed_environment(&self) -> BTreeMap<String, String> {
        self.environment
            .iter()
            .map(|(name, value)| (name.clone(), value.expose().to_owned()))
            .collect()
    }
}

/// A new image function.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub name: String,
    pub role_arn: String,
    pub image: ImageRef,
    /// `x86_64` or `arm64`, as deploy.toml says.
    pub architecture: String,
    pub settings: Settings,
}

/// One version of a function (or `$LATEST`) as Lambda reports it. Not `Serialize`: its
/// settings hold the environment's values.
#[derive(Debug, Clone)]
pub struct Version {
    pub function_name: String,
    /// Unqualified.
    pub function_arn: String,
    /// "7" or "$LATEST".
    pub version: String,
    pub code_sha256: String,
    /// The image this version runs (`ResolvedImageUri`); `None` when the answer names none
    /// (PublishVersion, UpdateFunctionConfiguration, ListVersionsByFunction).
    pub image: Option<ImageRef>,
    pub settings: Settings,
    pub description: String,
    /// Whether it can be invoked or changed (Lambda's `State`).
    pub state: VersionState,
    /// The machine it runs on: `x86_64` or `arm64` (Lambda's `Architectures`, which holds one;
    /// `x86_64`, Lambda's default, when the answer names none).
    pub architecture: String,
    /// `Successful`, `InProgress`, `Failed`; `None` when not reported (a new function's
    /// CreateFunction answer has none: read `state`).
    pub last_update_status: Option<String>,
    pub revision_id: Option<String>,
}

/// Lambda's function (and version) states: only an Active one can be invoked, updated or
/// published; Pending while Lambda prepares it, Inactive after it sat idle (the next invoke
/// fails and sets it Pending)
/// (<https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html>).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum VersionState {
    Pending,
    Active,
    Inactive,
    Failed,
}

impl VersionState {
    /// Lambda's name for it; unknown names count as Pending (not usable yet).
    pub fn parse(state: &str) -> Self {
        match state {
            "Active" => Self::Active,
            "Inactive" => Self::Inactive,
            "Failed" => Self::Failed,
            _ => Self::Pending,
        }
    }
}

impl fmt::Display for VersionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Where an alias sends invocations: a version, plus optional extra versions with weights.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AliasTarget {
    pub version: String,
    /// Version → share of traffic in 0.0..=1.0; the rest goes to `version`.
    pub additional_weights: BTreeMap<String, f64>,
}

impl AliasTarget {
    pub fn version(version: impl Into<String>) -> Self {
        Self {
            version: version.into(),
            additional_weights: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Alias {
    pub name: String,
    pub target: AliasTarget,
    pub description: String,
    pub revision_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RestApi {
    pub id: String,
    pub name: String,
    pub root_resource_id: String,
}

/// One resource of a REST API and its methods (`ANY`, `GET`, ...).
#[derive(Debug, Clone, Serialize)]
pub struct Route {
    /// `/`, `/{proxy+}`, `/items/{id}`.
    pub path: String,
    pub methods: BTreeMap<String, Integration>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Integration {
    /// `AWS_PROXY`, `MOCK`, ...
    pub kind: String,
    pub uri: Option<String>,
}

/// The API Gateway service path that invokes a Lambda function.
const LAMBDA_INVOKE_PATH: &str = ":lambda:path/2015-03-31/functions/";

impl Integration {
    /// The URI API Gateway invokes `function_arn` by, qualified per request by the stage's
    /// `alias` variable: one API, many stages, each pointing at its own alias.
    pub fn lambda_uri(region: &str, function_arn: &str) -> String {
        format!(
            "arn:aws:apigateway:{region}{LAMBDA_INVOKE_PATH}{function_arn}:${{stageVariables.alias}}/invocations"
        )
    }

    /// The (qualified) function ARN an `AWS_PROXY` integration invokes, with the stage
    /// variables filled in; `None` for other integrations or an unset variable.
    pub fn invoked_function(&self, variables: &BTreeMap<String, String>) -> Option<String> {
        if self.kind != "AWS_PROXY" {
            return None;
        }
        let uri = self.uri.as_deref()?;
        let (_, rest) = uri.split_once(LAMBDA_INVOKE_PATH)?;
        let mut arn = rest.strip_suffix("/invocations")?.to_owned();
        while let Some(start) = arn.find("${stageVariables.") {
            let end = start + arn[start..].find('}')?;
            let value = variables.get(&arn[start + "${stageVariables.".len()..end])?;
            arn.replace_range(start..=end, value);
        }
        Some(arn)
    }
}

/// The stage variable the app compares `x-verify-token` with (blue only).
pub const TOKEN_VARIABLE: &str = "verify_token";

#[derive(Clone, PartialEq, Eq)]
pub struct Stage {
    pub name: String,
    pub deployment_id: String,
    pub variables: BTreeMap<String, String>,
    pub description: String,
}

/// Without the verify token's value: a Debug print (a failed assert, a panic, a debug log) is
/// no way to read blue's token (security-audit-3 #25).
impl fmt::Debug for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stage")
            .field("name", &self.name)
            .field("deployment_id", &self.deployment_id)
            .field("variables", &hiding(&self.variables, TOKEN_VARIABLE))
            .field("description", &self.description)
            .finish()
    }
}

/// An ECR repository: Lambda pulls from `uri`.
#[derive(Debug, Clone, Serialize)]
pub struct Repository {
    pub name: String,
    /// `ACCT.dkr.ecr.REGION.amazonaws.com/NAME`.
    pub uri: String,
}

impl Repository {
    /// The image Lambda is told to run for `digest`.
    pub fn image(&self, digest: &str) -> ImageRef {
        let (registry, repository) = self.uri.split_once('/').unwrap_or((&self.uri, &self.name));
        ImageRef {
            registry: registry.to_owned(),
            repository: repository.to_owned(),
            digest: digest.to_owned(),
        }
    }
}

/// How to reach the registry behind the repositories, for pushes and pulls.
#[derive(Debug, Clone)]
pub struct RegistryAccess {
    /// `host[:port]` to connect to.
    pub host: String,
    /// Plain HTTP (the local registry) instead of HTTPS.
    pub plain_http: bool,
    /// Basic credentials (user, password); `None` for anonymous access.
    pub basic: Option<(String, Secret)>,
}

impl RegistryAccess {
    /// The reference to push or pull `image` by, at this registry.
    pub fn reference(&self, image: &ImageRef) -> String {
        format!("{}/{}@{}", self.host, image.repository, image.digest)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::{ImageRef, Integration, RegistryAccess, Secret, Stage};

    #[test]
    fn the_registry_password_never_shows_in_debug_output() {
        let access = RegistryAccess {
            host: "123456789012.dkr.ecr.us-east-1.amazonaws.com".into(),
            plain_http: false,
            basic: Some(("AWS".into(), Secret::from("ecr-password-4d1c".to_owned()))),
        };
        let shown = format!("{access:?}");
        assert!(!shown.contains("ecr-password-4d1c"), "{shown}");
    }

    #[test]
    fn a_stages_verify_token_never_shows_in_debug_output() {
        let blue = Stage {
            name: "blue".into(),
            deployment_id: "d1".into(),
            variables: BTreeMap::from([
                ("alias".to_owned(), "blue".to_owned()),
                ("verify_token".to_owned(), "token-77c1".to_owned()),
            ]),
            description: String::new(),
        };
        let shown = format!("{blue:?}");
        assert!(!shown.contains("token-77c1"), "{shown}");
        assert!(shown.contains("\"alias\", \"blue\""), "{shown}");
    }

    #[test]
    fn an_image_uri_round_trips_and_only_digests_parse() {
        let uri = format!(
            "1.dkr.ecr.us-east-1.amazonaws.com/bgd@sha256:{}",
            "ab".repeat(32)
        );
        let image = ImageRef::parse(&uri).unwrap();
        assert_eq!(image.repository, "bgd");
        assert_eq!(image.uri(), uri);
        assert!(ImageRef::parse("1.dkr.ecr.us-east-1.amazonaws.com/bgd:latest").is_none());
        assert!(ImageRef::parse("host/bgd@sha256@sha256:00").is_none());
    }

    #[test]
    fn the_integration_uri_resolves_to_the_alias_named_by_the_stage() {
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:bgd";
        let integration = Integration {
            kind: "AWS_PROXY".into(),
            uri: Some(Integration::lambda_uri("us-east-1", arn)),
        };
        let vars = BTreeMap::from([("alias".to_owned(), "blue".to_owned())]);
        assert_eq!(
            integration.invoked_function(&vars).unwrap(),
            format!("{arn}:blue")
        );
        assert_eq!(integration.invoked_function(&BTreeMap::new()), None);
    }
}
