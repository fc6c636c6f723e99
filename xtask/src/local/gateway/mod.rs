//! The gateway: our data plane, an execute-api front on loopback. Per request: stage → its
//! variables → the route's integration URI with `${stageVariables.alias}` filled in → alias →
//! version (by the alias's weights) → that version's image → its entrypoint run under our
//! Lambda Runtime API with a REST proxy (v1) event. Answers like API Gateway: 403 for an
//! unknown stage or route, 502 when the function fails, 504 past the 29 s integration limit.
mod control;
mod event;
mod image;
mod pool;
mod routing;

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use anyhow::{Context, Result};
use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, State},
    http::{HeaderMap, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::json;

use super::lifecycle::function_log;
use crate::{
    cloud::{Cloud, Target},
    config::Config,
    local::runtime::{self, Outcome, Spec},
};
use control::Control;
use image::Images;
use pool::Pool;
use routing::ApiRef;

/// Answers 200 once the gateway serves; not a valid stage name, so never shadows one.
pub const HEALTH_PATH: &str = "/.local/health";
/// API Gateway's integration timeout
/// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html>).
const INTEGRATION_TIMEOUT: Duration = Duration::from_secs(29);
/// API Gateway's payload limit.
const MAX_BODY: usize = 10 * 1024 * 1024;

/// How `local up` runs the gateway (`cargo xtask local gateway`).
#[derive(Debug, Clone)]
pub struct Options {
    pub port: u16,
    pub state_dir: PathBuf,
    pub moto_url: String,
    pub registry_url: String,
    pub region: String,
}

struct Gateway {
    control: Control,
    images: Images,
    pool: Pool,
    /// The API `/{stage}/{path}` serves: deploy.toml's, when it loads.
    default_api: Option<String>,
    /// The local cloud's state dir: function logs go under it.
    state_dir: PathBuf,
}

/// Serves until the process is stopped.
pub async fn serve(options: Options) -> Result<()> {
    let cloud = Cloud::connect(Target::Local {
        endpoint_url: options.moto_url.clone(),
        registry_url: options.registry_url.clone(),
        region: options.region.clone(),
    })
    .await?;
    let logs = options.state_dir.join("functions");
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    let gateway = Arc::new(Gateway {
        control: Control::new(cloud),
        images: Images::new(options.state_dir.join("images")),
        pool: Pool::new(),
        default_api: Config::load().ok().map(|c| c.api_name().to_owned()),
        state_dir: options.state_dir.clone(),
    });
    let reaper = gateway.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            reaper.pool.reap(pool::IDLE_TTL);
        }
    });
    let app = Router::new()
        .route(HEALTH_PATH, get(health))
        .fallback(handle)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(gateway);
    let addr = SocketAddr::from(([127, 0, 0, 1], options.port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the gateway to {addr} (is the port taken?)"))?;
    eprintln!("gateway: serving on http://{addr}");
    axum::serve(listener, app)
        .await
        .context("serving the gateway")
}

async fn health(State(gateway): State<Arc<Gateway>>) -> Json<serde_json::Value> {
    Json(json!({ "idle_instances": gateway.pool.pids() }))
}

/// API Gateway's answer when no stage or route matches.
fn forbidden() -> Response {
    (StatusCode::FORBIDDEN, Json(json!({"message": "Forbidden"}))).into_response()
}

/// API Gateway's answer when the integration fails.
fn bad_gateway() -> Response {
    (
        StatusCode::BAD_GATEWAY,
        Json(json!({"message": "Internal server error"})),
    )
        .into_response()
}

async fn handle(
    State(gateway): State<Arc<Gateway>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = runtime::new_request_id();
    let mut response = gateway
        .respond(&request_id, &method, &uri, &headers, &body)
        .await;
    if let Ok(value) = request_id.parse() {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    response
}

impl Gateway {
    async fn respond(
        &self,
        request_id: &str,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Response {
        let Some(target) = routing::target(uri.path()) else {
            return forbidden();
        };
        let api_id = match &target.api {
            ApiRef::Id(id) => id.clone(),
            ApiRef::Default => {
                let Some(name) = &self.default_api else {
                    return forbidden();
                };
                match &*self.control.api_id(name).await {
                    Ok(id) => id.clone(),
                    Err(_) => return forbidden(),
                }
            }
        };
        let stage = match &*self.control.stage(&api_id, &target.stage).await {
            Ok(stage) => stage.clone(),
            Err(e) if e.is_not_found() => return forbidden(),
            Err(e) => return fail(request_id, &format!("{e}")),
        };
        let routes = self.control.routes(&api_id).await;
        let routes = match &*routes {
            Ok(routes) => routes,
            Err(e) if e.is_not_found() => return forbidden(),
            Err(e) => return fail(request_id, &format!("{e}")),
        };
        let Some(matched) = routing::matched(routes, method.as_str(), &target.path) else {
            return forbidden();
        };
        let Some(invoked_arn) = matched.integration.invoked_function(&stage.variables) else {
            return fail(
                request_id,
                &format!(
                    "the integration of {} {} on stage {} is not a Lambda proxy, or names a stage variable the stage lacks",
                    method, matched.resource, stage.name
                ),
            );
        };
        let account = match &*self.control.account_id().await {
            Ok(account) => account.clone(),
            Err(e) => return fail(request_id, &format!("{e}")),
        };
        let ctx = event::Context {
            api_id: &api_id,
            account_id: &account,
            stage: &stage.name,
            request_id,
            resource: matched.resource,
            path: &target.path,
            path_parameters: &matched.path_parameters,
            stage_variables: &stage.variables,
            host: headers
                .get("host")
                .and_then(|h| h.to_str().ok())
                .unwrap_or("127.0.0.1"),
        };
        let payload = match event::proxy_event(&ctx, method, uri.query(), headers, body) {
            Ok(payload) => Bytes::from(payload),
            Err(e) => return fail(request_id, &format!("serializing the event: {e}")),
        };
        match tokio::time::timeout(INTEGRATION_TIMEOUT, self.invoke(&invoked_arn, payload)).await {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => fail(request_id, &format!("{e:#}")),
            Err(_) => {
                eprintln!("gateway: {request_id}: {invoked_arn} did not answer within 29 s");
                (
                    StatusCode::GATEWAY_TIMEOUT,
                    Json(json!({"message": "Endpoint request timed out"})),
                )
                    .into_response()
            }
        }
    }

    /// Alias → version → image → an instance's answer, mapped to HTTP.
    async fn invoke(&self, invoked_arn: &str, payload: Bytes) -> Result<Response> {
        let mut parts = invoked_arn.splitn(8, ':');
        let function = parts
            .nth(6)
            .context("the integration names no function ARN")?;
        let qualifier = parts.next().unwrap_or("$LATEST");
        let is_version = qualifier == "$LATEST" || qualifier.bytes().all(|b| b.is_ascii_digit());
        let version = if is_version {
            qualifier.to_owned()
        } else {
            let alias = self.control.alias(function, qualifier).await;
            control::answer(&alias)?
                .target
                .pick(rand::random())
                .to_owned()
        };
        let version = self.control.version(function, &version).await;
        let version = control::answer(&version)?;
        let image = version.image.as_ref().with_context(|| {
            format!(
                "no image in the local registry matches version {} of {function} (CodeSha256 {}): push it tagged and deploy it by digest",
                version.version, version.code_sha256
            )
        })?;
        let access = self.control.registry_access().await;
        let access = control::answer(&access)?;
        let binary = self
            .images
            .entrypoint(image, access)
            .await
            .with_context(|| {
                format!(
                    "image {} of version {} of {function} is missing or unreadable",
                    image.digest, version.version
                )
            })?;
        let spec = Spec {
            binary,
            function_name: version.function_name.clone(),
            version: version.version.clone(),
            invoked_function_arn: invoked_arn.to_owned(),
            environment: version.settings.environment.clone().into_iter().collect(),
            memory_mb: version.settings.memory_mb,
            timeout: version.settings.timeout,
            log_file: Some(function_log(&self.state_dir, &version.function_name)),
        };
        // Versions are immutable, but $LATEST is not: its code and settings are in the key.
        let key = format!(
            "{invoked_arn}|{}|{}|{:?}",
            version.version, version.code_sha256, version.settings
        );
        match self.pool.invoke(&key, &spec, payload).await? {
            Outcome::Response(body) => event::http_response(&body).context(
                "the function's answer is not a proxy response (statusCode, headers, body)",
            ),
            Outcome::FunctionError(body) => {
                anyhow::bail!("the function failed: {}", String::from_utf8_lossy(&body))
            }
            Outcome::Timeout => anyhow::bail!(
                "the function timed out after {:?}",
                version.settings.timeout
            ),
            Outcome::Crashed(status) => anyhow::bail!("the function's process exited ({status:?})"),
        }
    }
}

/// Logs why, answers 502.
fn fail(request_id: &str, why: &str) -> Response {
    eprintln!("gateway: {request_id}: 502: {why}");
    bad_gateway()
}
