//! The local cloud's data plane: an execute-api front on loopback, for every account and region
//! at once (the path names them, [`scoped_url`]; the API's stage is read in that account and
//! region, the function its integration names in the account and region its ARN names). Per
//! request: stage → its variables → the route's integration URI with `${stageVariables.alias}`
//! filled in → alias → version (by the alias's weights) → that version's image, unpacked → its
//! command run in Lambda's sandbox under our Lambda Runtime API with a REST proxy (v1) event. Answers like API
//! Gateway: 403 for an unknown stage or route, 502 when the function fails (its error, timeout,
//! memory, 6 MB response), 504 past the 29 s integration limit.
//!
//! A crate of its own, with no AWS SDK, so that dev builds can optimise it (every request runs
//! through it) while xtask stays quick to compile; xtask answers the control-plane reads
//! through [`ControlPlane`].
pub mod architecture;
mod control;
mod event;
mod metrics;
mod pool;
mod routing;
pub mod runtime;
pub mod sandbox;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::{Context, Result};
use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, State},
    http::{HeaderMap, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::json;

pub use bgd_rules::metrics::Counts;
pub use control::{
    AliasTarget, Connect, ControlPlane, Image, Read, ReadError, Route, Scope, Stage, Unpacked,
    Version,
};
use control::{Control, Controls};
pub use metrics::Fault;
use metrics::Metrics;
use pool::Pool;
use routing::ApiRef;
pub use routing::{SCOPE_PREFIX, scoped_url};
use runtime::{Isolation, Outcome, Spec};

/// Answers 200 once the gateway serves; not a valid stage name, so never shadows one.
pub const HEALTH_PATH: &str = "/.local/health";
/// Per-version counts of an alias (`GET`, see [`metrics`]); same reason for the dot.
pub const METRICS_PATH: &str = "/.local/metrics";
/// Injects invocation errors into one version through one alias (`POST` a [`Fault`]).
pub const FAULTS_PATH: &str = "/.local/faults";
/// API Gateway's integration timeout
/// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html>).
const INTEGRATION_TIMEOUT: Duration = Duration::from_secs(29);
/// API Gateway's payload limit.
const MAX_BODY: usize = 10 * 1024 * 1024;

/// Where the gateway serves and what it serves by default.
#[derive(Debug, Clone)]
pub struct Options {
    pub port: u16,
    /// The API `/{stage}/{path}` serves: deploy.toml's, when it loads.
    pub default_api: Option<String>,
    /// The account and region of a path that names none: the local cloud's default account in
    /// deploy.toml's region.
    pub default_scope: Scope,
    pub isolation: Isolation,
}

struct Gateway {
    controls: Controls,
    pool: Pool,
    metrics: Metrics,
    options: Options,
}

/// Serves until the process is stopped.
pub async fn serve(options: Options, connect: Connect) -> Result<()> {
    let port = options.port;
    let gateway = Arc::new(Gateway {
        controls: Controls::new(connect),
        pool: Pool::new(),
        metrics: Metrics::default(),
        options,
    });
    match &gateway.options.isolation {
        Isolation::Sandbox(sandbox) => {
            eprintln!(
                "gateway: functions run in Lambda's sandbox ({})",
                sandbox.describe()
            );
        }
        Isolation::Host => eprintln!(
            "gateway: UNSANDBOXED: functions run as host processes, with the host's files, user and memory"
        ),
    }
    let reaper = gateway.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            reaper.pool.reap(pool::IDLE_TTL);
        }
    });
    let app = Router::new()
        .route(HEALTH_PATH, get(health))
        .route(METRICS_PATH, get(metrics::counts))
        .route(FAULTS_PATH, post(metrics::fault))
        .fallback(handle)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(gateway);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
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

/// What one invocation runs through: the function's account's and region's reads, and the
/// qualified ARN the integration named (and its alias, when it named one).
#[derive(Clone, Copy)]
struct Invoked<'a> {
    control: &'a Control,
    region: &'a str,
    arn: &'a str,
    alias: Option<&'a str>,
}

async fn handle(
    State(gateway): State<Arc<Gateway>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = runtime::random_uuid();
    let mut response = gateway
        .respond(&request_id, &method, &uri, &headers, &body)
        .await;
    if matches!(gateway.options.isolation, Isolation::Host) {
        let status = response.status().as_u16();
        gateway.log(&request_id, &format!("{method} {uri} -> {status}"));
    }
    if let Ok(value) = request_id.parse() {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    response
}

impl Gateway {
    /// One line of the gateway's log about a request; each says when functions run unsandboxed.
    fn log(&self, request_id: &str, line: &str) {
        match self.options.isolation {
            Isolation::Host => eprintln!(
                "gateway: {request_id}: UNSANDBOXED (functions run as host processes, not as Lambda runs them): {line}"
            ),
            Isolation::Sandbox(_) => eprintln!("gateway: {request_id}: {line}"),
        }
    }

    /// Logs why, answers 502.
    fn fail(&self, request_id: &str, why: &str) -> Response {
        self.log(request_id, &format!("502: {why}"));
        event::bad_gateway()
    }

    async fn respond(
        &self,
        request_id: &str,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Response {
        let Some(target) = routing::target(uri.path()) else {
            return event::forbidden();
        };
        let scope = target.scope.as_ref().unwrap_or(&self.options.default_scope);
        let control = match self.controls.of(scope).await {
            Ok(control) => control,
            Err(e) => return self.fail(request_id, &format!("{e}")),
        };
        let api_id = match &target.api {
            ApiRef::Id(id) => id.clone(),
            ApiRef::Default => {
                let Some(name) = &self.options.default_api else {
                    return event::forbidden();
                };
                match &*control.api_id(name).await {
                    Ok(id) => id.clone(),
                    Err(_) => return event::forbidden(),
                }
            }
        };
        if control.stage_served(&api_id, &target.stage).await.is_err() {
            return event::forbidden();
        }
        let stage = control.stage(&api_id, &target.stage).await;
        let stage = match &*stage {
            Ok(stage) => stage,
            Err(e) if e.not_found => return event::forbidden(),
            Err(e) => return self.fail(request_id, &format!("{e}")),
        };
        let Some(matched) = routing::matched(&stage.routes, method.as_str(), &target.path) else {
            return event::forbidden();
        };
        let invoked_arn = match matched.invoked {
            Ok(arn) => arn.as_str(),
            Err(why) => {
                let (resource, stage) = (matched.resource, &stage.name);
                let why = format!("the integration of {method} {resource} on stage {stage} {why}");
                return self.fail(request_id, &why);
            }
        };
        let ctx = event::Context {
            api_id: &api_id,
            account_id: &scope.account,
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
            Err(e) => return self.fail(request_id, &format!("serializing the event: {e}")),
        };
        match tokio::time::timeout(INTEGRATION_TIMEOUT, self.invoke(invoked_arn, payload)).await {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => self.fail(request_id, &format!("{e:#}")),
            Err(_) => {
                self.log(
                    request_id,
                    &format!("504: {invoked_arn} did not answer within 29 s"),
                );
                (
                    StatusCode::GATEWAY_TIMEOUT,
                    Json(json!({"message": "Endpoint request timed out"})),
                )
                    .into_response()
            }
        }
    }

    /// Alias → version → image → an instance's answer, mapped to HTTP; read in the account and
    /// region the function's ARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME:QUALIFIER`)
    /// names, as Lambda resolves it.
    async fn invoke(&self, invoked_arn: &str, payload: Bytes) -> Result<Response> {
        let parts: Vec<&str> = invoked_arn.splitn(8, ':').collect();
        let [_, _, _, region, account, _, function, ref rest @ ..] = parts[..] else {
            anyhow::bail!("the integration names no function ARN: {invoked_arn}");
        };
        let qualifier = rest.first().copied().unwrap_or("$LATEST");
        let scope = Scope {
            account: account.to_owned(),
            region: region.to_owned(),
        };
        let control = self
            .controls
            .of(&scope)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let is_version = qualifier == "$LATEST" || qualifier.bytes().all(|b| b.is_ascii_digit());
        let version = if is_version {
            qualifier.to_owned()
        } else {
            let alias = control.alias(function, qualifier).await;
            control::answer(&alias)?.pick(rand::random()).to_owned()
        };
        if version != "$LATEST" {
            let invocable = control.invocable(function, &version).await;
            control::answer(&invocable)?;
        }
        let series = metrics::series(&scope, function);
        if self
            .metrics
            .faulted(&series, qualifier, &version, rand::random())
        {
            self.metrics.record(&series, qualifier, &version, true);
            anyhow::bail!(
                "the function failed: an injected invocation error ({FAULTS_PATH}) on version {version} through {qualifier}"
            );
        }
        let alias = (!is_version).then_some(qualifier);
        let invoked = Invoked {
            control: &control,
            region,
            arn: invoked_arn,
            alias,
        };
        let ran = self.run(&invoked, function, &version, payload).await;
        self.metrics
            .record(&series, qualifier, &version, ran.is_err());
        ran
    }

    /// One invocation of a version (an Active one), through `alias` when an alias named it:
    /// image → instance → its answer as HTTP.
    async fn run(
        &self,
        invoked: &Invoked<'_>,
        function: &str,
        version: &str,
        payload: Bytes,
    ) -> Result<Response> {
        let Invoked {
            control,
            region,
            arn: invoked_arn,
            alias,
        } = *invoked;
        let version = control.version(function, version).await;
        let version = control::answer(&version)?;
        let image = version.image.as_ref().with_context(|| {
            format!(
                "no image in the local registry matches version {} of {function} (CodeSha256 {}): push it tagged and deploy it by digest",
                version.version, version.code_sha256
            )
        })?;
        let unpacked = control.unpacked(image).await;
        let unpacked = control::answer(&unpacked).with_context(|| {
            format!(
                "image {} of version {} of {function} is missing or unreadable",
                image.0, version.version
            )
        })?;
        // Only a new instance needs its spec.
        let spec = || Spec {
            image: Arc::new(unpacked.clone()),
            isolation: self.options.isolation.clone(),
            function_name: version.function_name.clone(),
            version: version.version.clone(),
            invoked_function_arn: invoked_arn.to_owned(),
            region: region.to_owned(),
            environment: version.environment.clone().into_iter().collect(),
            memory_mb: version.memory_mb,
            timeout: version.timeout,
            architecture: version.architecture,
            log_file: Some(control.function_log(&version.function_name)),
        };
        // Versions are immutable, but $LATEST is not: its code and settings are in the key.
        let key = format!(
            "{invoked_arn}|{}|{}|{:?}|{}|{:?}|{}",
            version.version,
            version.code_sha256,
            version.environment,
            version.memory_mb,
            version.timeout,
            version.architecture.as_str()
        );
        match self.pool.invoke(&key, spec, payload).await? {
            Outcome::Response(body) => {
                let response = event::http_response(&body).context(
                    "the function's answer is not a proxy response (statusCode, headers, body)",
                )?;
                // An access line per success through an alias: which version and image
                // answered there, a record kept apart from anything the deploy tooling writes
                // (the kill tests check green served only what blue answered with before).
                if let Some(alias) = alias
                    && response.status().is_success()
                {
                    eprintln!(
                        "gateway: served {function} alias {alias} version {} image {}",
                        version.version, image.0
                    );
                }
                Ok(response)
            }
            Outcome::FunctionError(body) => {
                anyhow::bail!("the function failed: {}", String::from_utf8_lossy(&body))
            }
            Outcome::Timeout => anyhow::bail!("{}", runtime::timed_out(version.timeout)),
            Outcome::Crashed(reason) => {
                anyhow::bail!("Runtime exited with error: {reason} (Runtime.ExitError)")
            }
        }
    }
}
