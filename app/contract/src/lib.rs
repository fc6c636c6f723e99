//! The deploy contract as one layer around any lambda_http service (an axum `Router`, a
//! `service_fn`, anything `lambda_http::run` takes): the self-report at `GET /version`,
//! `GET /health` naming missing configuration, the blue stage's token guard, and the
//! `x-app-version` / `x-app-alias` headers on every response, the service's errors included.
//!
//! ```no_run
//! # use lambda_http::{Body, Error, Request, Response, service_fn};
//! # async fn main_() -> Result<(), Error> {
//! # let service = service_fn(|_: Request| async { Ok::<_, Error>(Response::new(Body::Empty)) });
//! // `service`: an axum Router, a service_fn, anything lambda_http runs.
//! lambda_http::run(bgd_contract::Contract::from_env().layer(service).await?).await
//! # }
//! ```
//!
//! The service behind the layer knows nothing of blue, green or verification: it sees its own
//! paths (never the API Gateway stage's prefix), and never a request to the contract's paths.
//! So that the contract never shadows one of its routes silently, [`Contract::layer`] asks the
//! service once for each contract path at start-up; any answer but 404 is a [`Clash`].
pub mod identity;
pub mod logging;
mod service;

use std::collections::HashMap;

use lambda_http::{
    Body, Context, Request, RequestExt, Service,
    http::{Method, StatusCode},
    request::RequestContext,
    tower::ServiceExt,
};

use identity::{BUILD, Identity, alias_of, required_env};
pub use service::Guarded;

/// Header the blue stage's callers must send, matching the stage variable `verify_token`.
pub const VERIFY_TOKEN_HEADER: &str = "x-verify-token";
/// Which version answered, on every response (`none` when Lambda did not say).
pub const VERSION_HEADER: &str = "x-app-version";
/// Which alias was invoked, on every response (`none` when invoked by number or unqualified).
pub const ALIAS_HEADER: &str = "x-app-alias";

/// What the contract answers and checks, configured once at start-up.
#[derive(Debug, Clone)]
pub struct Contract {
    version_path: String,
    health_path: String,
    vars: HashMap<String, String>,
}

/// The service already answers one of the contract's paths: the layer would shadow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clash {
    pub path: String,
    /// What the service answered to `GET path` at start-up.
    pub status: u16,
}

impl std::fmt::Display for Clash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the service answers GET {} ({}), a path of the deploy contract: rename the route, \
             or move the contract's ([app] version_path / health_path in deploy.toml)",
            self.path, self.status
        )
    }
}

impl std::error::Error for Clash {}

impl Contract {
    /// Reads the variables the contract uses (Lambda's own and deploy.toml's `required_env`)
    /// from the process environment.
    pub fn from_env() -> Self {
        Self::with_vars(std::env::vars())
    }

    pub fn with_vars(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        let wanted =
            |name: &str| name.starts_with("AWS_LAMBDA_") || required_env().any(|r| r == name);
        Self {
            version_path: env!("APP_VERSION_PATH").into(),
            health_path: env!("APP_HEALTH_PATH").into(),
            vars: vars.into_iter().filter(|(k, _)| wanted(k)).collect(),
        }
    }

    /// Serves the self-report at `path` instead of deploy.toml's `[app] version_path` (by
    /// default `/version`). `cargo xtask` verifies deploy.toml's: move it there to deploy.
    pub fn version_path(mut self, path: &str) -> Self {
        self.version_path = normalize(path).to_owned();
        self
    }

    /// Serves the health check at `path` instead of deploy.toml's `[app] health_path` (by
    /// default `/health`). `cargo xtask` checks deploy.toml's: move it there to deploy.
    pub fn health_path(mut self, path: &str) -> Self {
        self.health_path = normalize(path).to_owned();
        self
    }

    /// Wraps `service` in the contract, once it has checked that the service answers none of
    /// the contract's paths itself (a [`Clash`] otherwise).
    pub async fn layer<S>(self, mut service: S) -> Result<Guarded<S>, Clash>
    where
        S: Service<Request>,
        S::Response: lambda_http::IntoResponse,
    {
        for path in [&self.version_path, &self.health_path] {
            let status = probe(&mut service, path).await;
            if status != StatusCode::NOT_FOUND {
                return Err(Clash {
                    path: path.clone(),
                    status: status.as_u16(),
                });
            }
        }
        Ok(Guarded::new(self, service))
    }

    fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The required variables (deploy.toml `[app] required_env`) that are unset or empty.
    pub fn missing_env(&self) -> Vec<&'static str> {
        required_env()
            .filter(|name| self.var(name).is_none())
            .collect()
    }

    /// Who answers `request`: from Lambda's environment, the invoked ARN and the stage.
    pub fn identity(&self, request: &Request) -> Identity {
        let alias = request
            .lambda_context_ref()
            .and_then(|ctx| alias_of(&ctx.invoked_function_arn))
            .map(str::to_owned);
        let stage = match request.request_context_ref() {
            Some(RequestContext::ApiGatewayV1(ctx)) => ctx.stage.clone(),
            // Function URLs and HTTP APIs (what `cargo lambda watch` serves over HTTP).
            Some(RequestContext::ApiGatewayV2(ctx)) => ctx.stage.clone(),
            _ => None,
        };
        Identity {
            function: self.var("AWS_LAMBDA_FUNCTION_NAME").map(str::to_owned),
            version: self.var("AWS_LAMBDA_FUNCTION_VERSION").map(str::to_owned),
            alias,
            stage,
            build: BUILD,
        }
    }
}

/// A path as the contract compares it: without trailing slashes (`/health/` is `/health`).
fn normalize(path: &str) -> &str {
    match path.trim_end_matches('/') {
        "" => "/",
        trimmed => trimmed,
    }
}

/// What the service answers to `GET path`, before any invocation: a request as lambda_http
/// would build it, with a Lambda context (handlers may read it) and no stage. A service
/// that fails or is not ready counts as not answering the path.
async fn probe<S>(service: &mut S, path: &str) -> StatusCode
where
    S: Service<Request>,
    S::Response: lambda_http::IntoResponse,
{
    let mut request = Request::new(Body::Empty);
    *request.method_mut() = Method::GET;
    *request.uri_mut() = path.parse().unwrap_or_default();
    let request = request
        .with_raw_http_path(path)
        .with_lambda_context(Context::default());
    match service.ready().await {
        Ok(ready) => match ready.call(request).await {
            Ok(response) => lambda_http::IntoResponse::into_response(response)
                .await
                .status(),
            Err(_) => StatusCode::NOT_FOUND,
        },
        Err(_) => StatusCode::NOT_FOUND,
    }
}
