//! The contract around a service, per request: the blue stage's guard first, then the
//! contract's own paths, then the service; the headers and HEAD on whatever answers.
use std::task::{Context, Poll};

use lambda_http::{
    Body, BoxFuture, IntoResponse, Request, RequestExt, Response, Service,
    http::{HeaderValue, Method, StatusCode, Uri, header},
    request::RequestContext,
};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use crate::{ALIAS_HEADER, Contract, VERIFY_TOKEN_HEADER, VERSION_HEADER, identity::Identity};

/// A service behind the contract; made by [`Contract::layer`].
#[derive(Debug, Clone)]
pub struct Guarded<S> {
    contract: Contract,
    inner: S,
}

impl<S> Guarded<S> {
    pub(crate) fn new(contract: Contract, inner: S) -> Self {
        Self { contract, inner }
    }
}

impl<S> Service<Request> for Guarded<S>
where
    S: Service<Request>,
    S::Response: IntoResponse + Send,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response<Body>;
    /// The service's own errors pass through untouched: Lambda counts them as function
    /// errors (its `Errors` metric, which a rollout watches), and API Gateway answers 502.
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let identity = self.contract.identity(&request);
        let head = request.method() == Method::HEAD;
        let line = RequestLine::of(&request);
        let answer = match self.contract.answer(&request, &identity) {
            Some(own) => Answer::Own(own),
            None => Answer::Service(self.inner.call(without_stage(request))),
        };
        Box::pin(async move {
            let mut response = match answer {
                Answer::Own(response) => response,
                Answer::Service(future) => future.await?.into_response().await,
            };
            stamp(&mut response, &identity);
            if head {
                *response.body_mut() = Body::Empty;
            }
            line.log(response.status());
            Ok(response)
        })
    }
}

enum Answer<F> {
    Own(Response<Body>),
    Service(F),
}

impl Contract {
    /// The contract's own answer to `request`, or `None` when the service should answer.
    fn answer(&self, request: &Request, identity: &Identity) -> Option<Response<Body>> {
        if !self.verify_token_accepted(request) {
            return Some(json(
                StatusCode::FORBIDDEN,
                json!({"error": "missing or wrong x-verify-token"}),
            ));
        }
        let path = crate::normalize(request.raw_http_path());
        let get = matches!(*request.method(), Method::GET | Method::HEAD);
        if path == self.version_path {
            Some(if get {
                json(StatusCode::OK, json!(identity))
            } else {
                method_not_allowed()
            })
        } else if path == self.health_path {
            Some(if get {
                self.health()
            } else {
                method_not_allowed()
            })
        } else {
            None
        }
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
        given.is_some_and(|given| given.ct_eq(expected.as_bytes()).into())
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
}

/// The request as the service's routes expect it: for a REST API, lambda_http puts the stage
/// in front of the path (`/blue/greet`), and the stage is the deploy's business, not the app's.
/// The exact inverse of lambda_http's `apigw_path_with_stage` (same variable, same rule), on
/// the URI it built, so the path keeps lambda_http's encoding and the query stays as it was.
fn without_stage(mut request: Request) -> Request {
    if std::env::var_os("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH").is_some() {
        return request;
    }
    let stage = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.stage.as_deref(),
        _ => None,
    };
    let Some(prefix) = stage.filter(|s| *s != "$default").map(|s| format!("/{s}")) else {
        return request;
    };
    if request.raw_http_path().starts_with(&format!("{prefix}/")) {
        return request;
    }
    let uri = request.uri();
    let Some(path) = uri.path().strip_prefix(&prefix) else {
        return request;
    };
    let path = if path.is_empty() { "/" } else { path };
    let path_and_query = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = path_and_query.parse().ok();
    if let Ok(uri) = Uri::from_parts(parts) {
        *request.uri_mut() = uri;
    }
    request
}

/// The headers every response carries, whoever made it.
fn stamp(response: &mut Response<Body>, identity: &Identity) {
    let headers = response.headers_mut();
    for (name, value) in [
        (VERSION_HEADER, identity.version.as_deref()),
        (ALIAS_HEADER, identity.alias.as_deref()),
    ] {
        let value = HeaderValue::from_str(value.unwrap_or("none"))
            .unwrap_or(HeaderValue::from_static("invalid"));
        headers.insert(name, value);
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

/// The contract's paths answer GET and HEAD only.
fn method_not_allowed() -> Response<Body> {
    const ALLOW: &str = "GET, HEAD";
    let mut response = json(
        StatusCode::METHOD_NOT_ALLOWED,
        json!({"error": "method not allowed", "allow": ALLOW}),
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(ALLOW));
    response
}

/// What the request log line says, taken before the request moves into the service.
struct RequestLine {
    request_id: String,
    method: Method,
    path: String,
}

impl RequestLine {
    fn of(request: &Request) -> Self {
        Self {
            request_id: request
                .lambda_context_ref()
                .map(|ctx| ctx.request_id.clone())
                .unwrap_or_default(),
            method: request.method().clone(),
            path: request.raw_http_path().to_owned(),
        }
    }

    fn log(&self, status: StatusCode) {
        crate::logging::request(&self.request_id, &self.method, &self.path, status);
    }
}
