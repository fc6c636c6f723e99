//! AWS's rules, each defined once with its source, for every model of AWS the project has: the
//! local cloud's front and the simulation's in-memory cloud (`bgd-sim`); and how AWS writes
//! times (`clock`), counts invocations (`metrics`) and expires images (`lifecycle`). Pure: no I/O, no clock of its own. The delays have local
//! defaults short enough for tests, lengthened or shortened per local cloud (`BGD_LOCAL_*_MS`
//! when it starts, or `POST /_local/delays` while it runs); the simulation draws its own.
pub mod clock;
pub mod cloudwatch;
pub mod conformance;
pub mod ecr;
pub mod lambda;
pub mod lifecycle;
pub mod metrics;

use std::{collections::BTreeMap, time::Duration};

use serde::{Deserialize, Serialize};

/// How long Lambda's asynchronous work takes on this local cloud.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Delays {
    /// A new function stays Pending while Lambda optimises its image; a new version too
    /// (<https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html>).
    pub pending_ms: u64,
    /// LastUpdateStatus stays InProgress after UpdateFunctionCode/Configuration.
    pub update_ms: u64,
    /// A role younger than this cannot be assumed by Lambda yet (IAM is eventually consistent:
    /// <https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency>).
    pub role_ms: u64,
    /// A version not invoked for this long becomes Inactive (on AWS: weeks).
    pub idle_ms: u64,
    /// A stage just created, or whose variables just changed, is served only after this
    /// (API Gateway propagates a stage to its nodes; until then it answers as for a stage it
    /// does not serve).
    #[serde(default = "default_stage_ms")]
    pub stage_ms: u64,
}

fn default_stage_ms() -> u64 {
    Delays::default().stage_ms
}

impl Default for Delays {
    fn default() -> Self {
        Self {
            pending_ms: 300,
            update_ms: 300,
            role_ms: 1_000,
            idle_ms: 15 * 60 * 1000,
            stage_ms: 300,
        }
    }
}

impl Delays {
    /// The defaults, each overridden by its `BGD_LOCAL_*_MS` variable when set.
    pub fn from_env() -> Self {
        let read = |name: &str, default: u64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        let d = Self::default();
        Self {
            pending_ms: read("BGD_LOCAL_PENDING_MS", d.pending_ms),
            update_ms: read("BGD_LOCAL_UPDATE_MS", d.update_ms),
            role_ms: read("BGD_LOCAL_ROLE_MS", d.role_ms),
            idle_ms: read("BGD_LOCAL_IDLE_MS", d.idle_ms),
            stage_ms: read("BGD_LOCAL_STAGE_MS", d.stage_ms),
        }
    }

    pub fn pending(&self) -> Duration {
        Duration::from_millis(self.pending_ms)
    }
}

/// Lambda's limit on a function's environment: 4 KB of its variables as JSON; the error
/// quotes them, values included
/// (<https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html>,
/// <https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html>).
pub const ENVIRONMENT_LIMIT: usize = 4096;

/// The size Lambda's limit is measured on: the variables as JSON, escapes included.
pub fn environment_size(variables: &BTreeMap<String, String>) -> usize {
    measured(variables).len()
}

fn measured(variables: &BTreeMap<String, String>) -> String {
    serde_json::to_string(variables).unwrap_or_default()
}

pub fn environment_error(variables: &BTreeMap<String, String>) -> Option<String> {
    let measured = measured(variables);
    (measured.len() > ENVIRONMENT_LIMIT).then(|| {
        format!(
            "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: {measured}"
        )
    })
}

/// Descriptions of functions, versions and aliases: at most 256 characters
/// (<https://docs.aws.amazon.com/lambda/latest/api/API_PublishVersion.html>).
pub const DESCRIPTION_LIMIT: usize = 256;

pub fn description_error(description: &str) -> Option<String> {
    (description.chars().count() > DESCRIPTION_LIMIT).then(|| {
        format!(
            "1 validation error detected: Value '{description}' at 'description' failed to satisfy constraint: Member must have length less than or equal to {DESCRIPTION_LIMIT}"
        )
    })
}

/// Function names: 1 to 64 letters, digits, hyphens, underscores
/// (<https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html>).
pub fn function_name_error(name: &str) -> Option<String> {
    let valid = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (!valid).then(|| {
        format!(
            "1 validation error detected: Value '{name}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9-_]{{1,64}}"
        )
    })
}

/// A function's `Architectures`: exactly one of `x86_64` and `arm64`
/// (<https://docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionCode.html>).
pub fn architectures_error(names: &[&str]) -> Option<String> {
    match names {
        ["x86_64" | "arm64"] => None,
        [_] => Some(format!(
            "1 validation error detected: Value '{names:?}' at 'architectures' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]"
        )),
        _ => Some(format!(
            "1 validation error detected: Value '{names:?}' at 'architectures' failed to satisfy constraint: Member must have length less than or equal to 1"
        )),
    }
}

/// Alias names: 1 to 128 letters, digits, hyphens, underscores, not all digits
/// (<https://docs.aws.amazon.com/lambda/latest/api/API_CreateAlias.html>).
pub fn alias_name_error(name: &str) -> Option<String> {
    let valid = (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && !name.bytes().all(|b| b.is_ascii_digit());
    (!valid).then(|| {
        format!(
            "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)"
        )
    })
}

/// Stage variables: names of letters, digits and underscores; values of letters, digits and
/// `-._~:/?#&=,`, at most 512 characters
/// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/aws-api-gateway-stage-variables-reference.html>).
pub fn stage_variable_error(name: &str, value: &str) -> Option<String> {
    let name_ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let value_ok = value.chars().count() <= 512
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~:/?#&=,".contains(&b));
    (!name_ok || !value_ok).then(|| {
        format!(
            "Stage variable name '{name}' or its value is invalid: names may contain only alphanumeric characters and underscores; values only alphanumeric characters and -._~:/?#&=, and at most 512 characters"
        )
    })
}

/// UpdateStage's patch paths: what API Gateway lets a stage change. Anything else is
/// BadRequestException, with this message (recorded: LocalStack's AWS-validated
/// `TestStages::test_create_update_stages`, error-update-doc-version and error-update-tags,
/// tests/aws/services/apigateway/test_apigateway_common.snapshot.json). The canary's own paths
/// (`/canarySettings/…`) are accepted too (`TestStageCrudCanary`).
pub fn stage_patch_error(path: &str) -> Option<String> {
    const SETTINGS: &[&str] = &[
        "metrics/enabled",
        "logging/dataTrace",
        "logging/loglevel",
        "throttling/burstLimit",
        "throttling/rateLimit",
        "caching/ttlInSeconds",
        "caching/enabled",
        "caching/dataEncrypted",
        "caching/requireAuthorizationForCacheControl",
        "caching/unauthorizedCacheControlHeaderStrategy",
    ];
    let stage_fields = [
        "/deploymentId",
        "/description",
        "/cacheClusterEnabled",
        "/cacheClusterSize",
        "/clientCertificateId",
        "/accessLogSettings",
        "/accessLogSettings/destinationArn",
        "/accessLogSettings/format",
        "/tracingEnabled",
    ];
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let method_setting = segments.len() >= 4
        && SETTINGS.contains(&segments[segments.len() - 2..].join("/").as_str());
    let valid = stage_fields.contains(&path)
        || method_setting
        || path
            .strip_prefix("/variables/")
            .is_some_and(|name| !name.is_empty())
        || path.starts_with("/canarySettings");
    (!valid).then(|| {
        format!(
            "Invalid method setting path: {path}. Must be one of: [/deploymentId, /description, /cacheClusterEnabled, /cacheClusterSize, /clientCertificateId, /accessLogSettings, /accessLogSettings/destinationArn, /accessLogSettings/format, /{{resourcePath}}/{{httpMethod}}/metrics/enabled, /{{resourcePath}}/{{httpMethod}}/logging/dataTrace, /{{resourcePath}}/{{httpMethod}}/logging/loglevel, /{{resourcePath}}/{{httpMethod}}/throttling/burstLimit/{{resourcePath}}/{{httpMethod}}/throttling/rateLimit/{{resourcePath}}/{{httpMethod}}/caching/ttlInSeconds, /{{resourcePath}}/{{httpMethod}}/caching/enabled, /{{resourcePath}}/{{httpMethod}}/caching/dataEncrypted, /{{resourcePath}}/{{httpMethod}}/caching/requireAuthorizationForCacheControl, /{{resourcePath}}/{{httpMethod}}/caching/unauthorizedCacheControlHeaderStrategy, /*/*/metrics/enabled, /*/*/logging/dataTrace, /*/*/logging/loglevel, /*/*/throttling/burstLimit /*/*/throttling/rateLimit /*/*/caching/ttlInSeconds, /*/*/caching/enabled, /*/*/caching/dataEncrypted, /*/*/caching/requireAuthorizationForCacheControl, /*/*/caching/unauthorizedCacheControlHeaderStrategy, /variables/{{variable_name}}, /tracingEnabled]"
        )
    })
}

/// A stage as API Gateway answers it: the fields it always writes, filled in where a model
/// leaves them out (recorded: create-stage and get-stages of LocalStack's AWS-validated
/// `test_apigateway_common`: `cacheClusterEnabled: false`, `cacheClusterStatus:
/// NOT_AVAILABLE`, `tracingEnabled: false`, `methodSettings: {}`).
pub fn stage_defaults(stage: &mut serde_json::Value) {
    let Some(object) = stage.as_object_mut() else {
        return;
    };
    let enabled = object
        .get("cacheClusterEnabled")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    let status = if enabled {
        "AVAILABLE"
    } else {
        "NOT_AVAILABLE"
    };
    for (field, value) in [
        ("cacheClusterEnabled", serde_json::json!(enabled)),
        ("cacheClusterStatus", serde_json::json!(status)),
        ("tracingEnabled", serde_json::json!(false)),
        ("methodSettings", serde_json::json!({})),
    ] {
        if object.get(field).is_none_or(serde_json::Value::is_null) {
            object.insert(field.to_owned(), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn the_environment_limit_is_4_kb_of_json_and_the_error_quotes_the_values() {
        let fits = BTreeMap::from([("A".to_owned(), "x".repeat(4000))]);
        assert_eq!(environment_error(&fits), None);
        let over = BTreeMap::from([("SECRET".to_owned(), "v".repeat(4090))]);
        let err = environment_error(&over).unwrap();
        assert!(
            err.contains("exceeded the 4KB limit") && err.contains("vvvv"),
            "{err}"
        );
    }

    #[test]
    fn names_descriptions_and_stage_variables_follow_aws_patterns() {
        assert!(function_name_error("bgd-app_1").is_none());
        assert!(function_name_error("bgd.app").is_some());
        assert!(function_name_error(&"a".repeat(65)).is_some());
        assert!(architectures_error(&["arm64"]).is_none());
        assert!(architectures_error(&["aarch64"]).is_some());
        assert!(architectures_error(&["x86_64", "arm64"]).is_some());
        assert!(architectures_error(&[]).is_some());
        assert!(alias_name_error("green").is_none());
        assert!(alias_name_error("7").is_some());
        assert!(description_error(&"d".repeat(256)).is_none());
        assert!(description_error(&"d".repeat(257)).is_some());
        assert!(stage_variable_error("alias", "blue").is_none());
        assert!(stage_variable_error("verify-token", "x").is_some());
        assert!(stage_variable_error("token", "a b").is_some());
        assert!(stage_variable_error("token", &"t".repeat(513)).is_some());
        assert!(stage_patch_error("/variables/alias").is_none());
        assert!(stage_patch_error("/*/*/throttling/burstLimit").is_none());
        assert!(stage_patch_error("/test/GET/caching/enabled").is_none());
        assert!(stage_patch_error("/tracingEnabled").is_none());
        assert!(stage_patch_error("/documentation_version").is_some());
        assert!(stage_patch_error("/tags/tag1").is_some());
    }
}
