//! HTTP probes of a stage through the real request path (API Gateway → alias → version): the
//! app's self-report must name this build, version and alias, `/health` must be 200, and the
//! smoke checks from deploy.toml must pass. On blue, a request without the token must be 403.
//! The checks are the [`Prober`]'s; how a request reaches a stage is the [`Http`] trait's:
//! HTTP (`bgd-aws`'s `HttpClient`) on AWS and the local cloud, in memory in the simulation
//! (`bgd-sim`).
mod checks;
mod http;
#[cfg(test)]
mod tests;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use http::{Answer, Http, Request};

use crate::{
    config::{ContractPaths, Smoke},
    secret::Secret,
};

/// Header carrying the blue stage's token (the app compares it with the stage variable).
pub const VERIFY_TOKEN_HEADER: &str = "x-verify-token";
/// Header the app puts on every answer: which version answered.
pub const APP_VERSION_HEADER: &str = "x-app-version";
/// How much of a failing answer a report shows.
const BODY_LIMIT: usize = 2_000;

/// A stage's base URL and, for blue, the token it demands.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub url: String,
    pub token: Option<Secret>,
}

/// What the app says of itself at `GET /version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfReport {
    pub function: Option<String>,
    pub version: Option<String>,
    pub alias: Option<String>,
    pub stage: Option<String>,
    pub build: ReportedBuild,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportedBuild {
    pub git_sha: String,
    pub dirty: bool,
    pub built_at: String,
    #[serde(default)]
    pub id: Option<String>,
    /// The instruction set the app was compiled for (`x86_64`, `aarch64`); apps built before
    /// it was reported leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
}

/// What the stage must report.
#[derive(Debug, Clone)]
pub struct Expect {
    pub version: u64,
    pub alias: String,
    pub git_sha: String,
    pub build_id: Option<String>,
}

/// The check that failed, with what the stage answered.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub check: String,
    pub url: String,
    pub status: Option<u16>,
    pub body: String,
    pub detail: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "check failed: {}", self.check)?;
        writeln!(f, "  url:    {}", self.url)?;
        match self.status {
            Some(status) => writeln!(f, "  status: {status}")?,
            None => writeln!(f, "  status: no answer")?,
        }
        writeln!(f, "  why:    {}", self.detail)?;
        write!(f, "  body:   {}", self.body)
    }
}

impl std::error::Error for Failure {}

/// The checks of a stage, over `H` (HTTP unless a simulation says otherwise), at the paths
/// where the stage's Lambda answers the deploy contract (deploy.toml's `[app]`).
pub struct Prober<H> {
    http: H,
    paths: ContractPaths,
}

impl<H: Http> Prober<H> {
    /// One synthetic probe of a rollout: which version answered (the app's header; `None`
    /// when the app did not answer) and whether the answer is a failure (no answer, or 5xx).
    pub async fn probe(&self, endpoint: &Endpoint, path: &str) -> (Option<String>, bool) {
        match self.get(endpoint, path, false).await {
            Ok(answer) => (answer.app_version, answer.status >= 500),
            Err(_) => (None, true),
        }
    }

    pub fn new(http: H) -> Self {
        Self {
            http,
            paths: ContractPaths::default(),
        }
    }

    /// Asks the contract at `paths` (the defaults are `/version` and `/health`).
    pub fn with_paths(self, paths: ContractPaths) -> Self {
        Self { paths, ..self }
    }

    /// The contract's paths this prober asks: a rollout's probes ask the health path, which
    /// every build answers and which touches the app's own configuration.
    pub fn paths(&self) -> &ContractPaths {
        &self.paths
    }

    pub async fn get(
        &self,
        endpoint: &Endpoint,
        path: &str,
        with_token: bool,
    ) -> Result<Answer, String> {
        let request = Request {
            method: "GET".into(),
            url: format!("{}{path}", endpoint.url),
            headers: Vec::new(),
            body: None,
        };
        self.send(endpoint, request, with_token).await
    }

    /// A smoke check's request: its method, headers and body, with the token.
    async fn smoke(&self, endpoint: &Endpoint, smoke: &Smoke) -> Result<Answer, String> {
        let request = Request {
            method: smoke.method.clone(),
            url: format!("{}{}", endpoint.url, smoke.path),
            headers: smoke
                .headers
                .iter()
                .map(|(name, value)| (name.to_lowercase(), value.clone()))
                .collect(),
            body: smoke.payload().map_err(|e| format!("{e:#}"))?,
        };
        self.send(endpoint, request, true).await
    }

    async fn send(
        &self,
        endpoint: &Endpoint,
        mut request: Request,
        with_token: bool,
    ) -> Result<Answer, String> {
        if let (true, Some(token)) = (with_token, &endpoint.token) {
            request
                .headers
                .push((VERIFY_TOKEN_HEADER.into(), token.expose().to_owned()));
        }
        // The whole body: a smoke check's `contains` past the shown part must still be found
        // (security-audit-3 N9); what a failure shows is clipped by [`shown`].
        self.http.send(request).await
    }

    /// The stage's self-report now, for `status`.
    pub(crate) async fn self_report(&self, endpoint: &Endpoint) -> Result<SelfReport, Failure> {
        let path = &self.paths.version;
        let url = format!("{}{path}", endpoint.url);
        let check = format!("GET {path}");
        let answer = self
            .get(endpoint, path, true)
            .await
            .map_err(|detail| Failure {
                check: check.clone(),
                url: url.clone(),
                status: None,
                body: String::new(),
                detail,
            })?;
        parse_report(&answer).map_err(|detail| Failure {
            check,
            url,
            status: Some(answer.status),
            body: shown(answer.body),
            detail,
        })
    }
}

/// A body as a failure shows it: secrets redacted first (a secret cut at the limit would no
/// longer be found whole: adversarial-3 m4 leaked 1,988 characters of a 2.5 KB one), then
/// clipped.
fn shown(body: String) -> String {
    clip(crate::secret::redact(&body))
}

/// At most [`BODY_LIMIT`] bytes of a body, cut on a character boundary (a multi-byte
/// character at the limit must not panic mid-deploy).
fn clip(mut body: String) -> String {
    body.truncate(body.floor_char_boundary(BODY_LIMIT));
    body
}

fn parse_report(answer: &Answer) -> Result<SelfReport, String> {
    if answer.status != 200 {
        return Err(format!("expected 200, got {}", answer.status));
    }
    serde_json::from_str(&answer.body).map_err(|e| format!("not the app's self-report: {e}"))
}

fn matches(report: &SelfReport, expect: &Expect) -> Result<(), String> {
    let version = expect.version.to_string();
    let mut wrong = Vec::new();
    if report.version.as_deref() != Some(version.as_str()) {
        wrong.push(format!("version {:?} (want {version})", report.version));
    }
    if report.alias.as_deref() != Some(expect.alias.as_str()) {
        wrong.push(format!("alias {:?} (want {})", report.alias, expect.alias));
    }
    if report.build.git_sha != expect.git_sha {
        wrong.push(format!(
            "git sha {} (want {})",
            report.build.git_sha, expect.git_sha
        ));
    }
    if report.build.id != expect.build_id {
        wrong.push(format!(
            "build id {:?} (want {:?})",
            report.build.id, expect.build_id
        ));
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(format!("it reports {}", wrong.join(", ")))
    }
}
