//! The app's routes: the user's own (`GET /`, `POST /greet`) and the self-report deploys are
//! verified against (`GET /version`, `GET /health`). Client mistakes are 4xx JSON responses,
//! never errors; the blue stage's `verify_token` guards every route.
pub mod identity;
pub mod logging;

use std::collections::HashMap;

use lambda_http::{
    Body, Request, RequestExt, Response,
    http::{HeaderValue, Method, StatusCode, header},
    request::RequestContext,
};
use serde::Deserialize;
use serde_json::{Value, json};

use identity::{BUILD, Identity, alias_of, required_env};

/// Header the blue stage's callers must send, matching the stage variable `verify_token`.
pub const VERIFY_TOKEN_HEADER: &str = "x-verify-token";
pub const VERSION_HEADER: &str = "x-app-version";
pub const ALIAS_HEADER: &str = "x-app-alias";

/// The configuration the app runs with, read once at start-up.
#[derive(Debug, Clone, Default)]
pub struct App {
    vars: HashMap<String, String>,
}

impl App {
    /// Reads the variables the app uses from the process environment.
    pub fn from_env() -> Self {
        Self::with_vars(std::env::vars())
    }

    pub fn with_vars(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        let wanted = |name: &str| {
            name.starts_with("AWS_LAMBDA_")
                || name == "GREETING"
                || required_env().any(|r| r == name)
        };
        Self {
            vars: vars.into_iter().filter(|(k, _)| wanted(k)).collect(),
        }
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

    /// Answers one request. Never fails: every outcome is an HTTP response.
    pub fn respond(&self, request: &Request) -> Response<Body> {
        let identity = self.identity(request);
        let mut response = if self.verify_token_accepted(request) {
            self.route(request, &identity)
        } else {
            json(
                StatusCode::FORBIDDEN,
                json!({"error": "missing or wrong x-verify-token"}),
            )
        };
        let headers = response.headers_mut();
        for (name, value) in [
            (VERSION_HEADER, identity.version.as_deref()),
            (ALIAS_HEADER, identity.alias.as_deref()),
        ] {
            let value = HeaderValue::from_str(value.unwrap_or("none"))
                .unwrap_or(HeaderValue::from_static("invalid"));
            headers.insert(name, value);
        }
        if request.method() == Method::HEAD {
            *response.body_mut() = Body::Empty;
        }
        response
    }

    /// Only the temporary blue stage carries `verify_token`; there every request must match it.
    fn verify_token_accepted(&self, request: &Request) -> bool {
        let expected = request
            .stage_variables_ref()
            .and_then(|vars| vars.first("verify_token"));
        let Some(expected) = expected else {
            return true;
        };
        let given = request
            .headers()
            .get(VERIFY_TOKEN_HEADER)
            .map(HeaderValue::as_bytes);
        given.is_some_and(|given| constant_time_eq(given, expected.as_bytes()))
    }

    fn route(&self, request: &Request, identity: &Identity) -> Response<Body> {
        let path = request.raw_http_path();
        let path = match path.trim_end_matches('/') {
            "" => "/",
            trimmed => trimmed,
        };
        let method = request.method();
        let is_get = method == Method::GET || method == Method::HEAD;
        match (path, is_get) {
            ("/version", true) => json(StatusCode::OK, json!(identity)),
            ("/health", true) => self.health(),
            ("/", true) => self.greeting(),
            ("/greet", _) if method == Method::POST => self.greet(request.body()),
            ("/version" | "/health" | "/", false) => method_not_allowed("GET, HEAD"),
            ("/greet", _) => method_not_allowed("POST"),
            _ => json(
                StatusCode::NOT_FOUND,
                json!({"error": "not found", "path": path}),
            ),
        }
    }

    fn health(&self) -> Response<Body> {
        let missing = self.missing_env();
        if missing.is_empty() {
            json(StatusCode::OK, json!({"status": "ok"}))
        } else {
            json(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"status": "missing configuration", "missing_env": missing}),
            )
        }
    }

    fn greeting(&self) -> Response<Body> {
        match self.var("GREETING") {
            Some(greeting) => json(StatusCode::OK, json!({"message": greeting})),
            None => json(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "GREETING is not set"}),
            ),
        }
    }

    fn greet(&self, body: &Body) -> Response<Body> {
        #[derive(Deserialize)]
        struct Greet {
            name: String,
        }
        let greet: Greet = match serde_json::from_slice(body) {
            Ok(greet) => greet,
            Err(e) => {
                return json(
                    StatusCode::BAD_REQUEST,
                    json!({"error": "body must be JSON like {\"name\": \"...\"}", "detail": e.to_string()}),
                );
            }
        };
        let greeting = self.var("GREETING").unwrap_or("hello");
        json(
            StatusCode::OK,
            json!({"message": format!("{greeting}, {}", greet.name)}),
        )
    }
}

fn json(status: StatusCode, value: Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(value.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut response = json(
        StatusCode::METHOD_NOT_ALLOWED,
        json!({"error": "method not allowed", "allow": allow}),
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// Compares without an early exit, so the time taken does not reveal how much of a guess matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn constant_time_eq_matches_only_equal_bytes() {
        assert!(constant_time_eq(b"token", b"token"));
        assert!(!constant_time_eq(b"token", b"tokem"));
        assert!(!constant_time_eq(b"token", b"token2"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
