//! Who is answering: function, version, alias, stage and the build baked in at compile time.
//! Deploys are verified against this report, so every field comes from where AWS puts it.
use serde::Serialize;

/// The build facts `build.rs` baked in from the commit; never read at run time.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Build {
    pub git_sha: &'static str,
    pub dirty: bool,
    pub built_at: &'static str,
    /// Set only for builds made with `APP_BUILD_ID` (two distinct images of one commit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<&'static str>,
    /// The instruction set it was compiled for (`x86_64`, `aarch64`): what the function runs on.
    pub arch: &'static str,
}

pub const BUILD: Build = Build {
    git_sha: env!("APP_GIT_SHA"),
    dirty: matches!(env!("APP_GIT_DIRTY").as_bytes(), b"true"),
    built_at: env!("APP_BUILT_AT"),
    id: match env!("APP_BUILD_ID").as_bytes() {
        [] => None,
        _ => Some(env!("APP_BUILD_ID")),
    },
    arch: std::env::consts::ARCH,
};

/// The env var names deploy.toml `[app] required_env` declares, baked in at build time.
pub fn required_env() -> impl Iterator<Item = &'static str> {
    env!("APP_REQUIRED_ENV")
        .split(',')
        .filter(|s| !s.is_empty())
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Identity {
    pub function: Option<String>,
    /// `AWS_LAMBDA_FUNCTION_VERSION`: "7" or "$LATEST".
    pub version: Option<String>,
    /// The qualifier of the invoked ARN when it names an alias.
    pub alias: Option<String>,
    /// `requestContext.stage` of the API Gateway event.
    pub stage: Option<String>,
    pub build: Build,
}

/// The alias in `arn:aws:lambda:REGION:ACCT:function:NAME:QUALIFIER`; `None` when the ARN is
/// unqualified or qualified by a version number or `$LATEST`.
pub fn alias_of(invoked_function_arn: &str) -> Option<&str> {
    let mut parts = invoked_function_arn.split(':');
    let qualifier = parts.nth(7)?;
    let is_version = qualifier == "$LATEST" || qualifier.bytes().all(|b| b.is_ascii_digit());
    (!qualifier.is_empty() && !is_version && parts.next().is_none()).then_some(qualifier)
}

#[cfg(test)]
mod tests {
    use super::alias_of;

    #[test]
    fn alias_is_the_non_numeric_qualifier() {
        let base = "arn:aws:lambda:us-east-1:123456789012:function:bgd";
        assert_eq!(alias_of(&format!("{base}:green")), Some("green"));
        assert_eq!(alias_of(&format!("{base}:7")), None);
        assert_eq!(alias_of(&format!("{base}:$LATEST")), None);
        assert_eq!(alias_of(base), None);
        assert_eq!(alias_of(""), None);
    }
}
