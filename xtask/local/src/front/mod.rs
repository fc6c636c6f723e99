//! The local cloud's strict front: what the SDK talks to (`AWS_ENDPOINT_URL`), with moto behind
//! it. moto accepts what AWS refuses and forgets what AWS keeps; the front adds, server-side,
//! what the pipeline relies on: function and version states, role propagation, atomic
//! RevisionId and CodeSha256 guards, AWS's limits, the image each version runs, and ECR's
//! registry endpoint (the local registry), and CloudWatch, which moto cannot serve to the Rust
//! SDK (`cloudwatch.rs`). So `cloud/` talks to the local cloud exactly as to
//! AWS. Each rule is defined once, with its source, in `crate::rules`; docs/aws-behaviours.md lists their tests.
mod alias;
mod cbor;
mod cloudwatch;
mod describe;
mod ecr;
mod lambda;
mod query;
mod state;

use std::{path::PathBuf, sync::Arc};

use anyhow::{Context, Result};
use axum::{
    Json, Router,
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Value, json};
use tokio::sync::Mutex;

pub use bgd_rules::Delays;
use ecr::ecr_action;
use state::Books;

/// moto's one account, which every ARN the front writes names.
const ACCOUNT: &str = "123456789012";

/// The manifests the front asks the local registry for (what the pushed images are).
const MANIFEST_TYPES: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// Answers 200 once the front serves.
pub const HEALTH_PATH: &str = "/_local/health";
/// `POST` a [`Delays`] to change them while the front runs (tests).
pub const DELAYS_PATH: &str = "/_local/delays";
/// `POST /_local/invocations/REGION/FUNCTION/VERSION`: the data plane reports an invocation and
/// learns whether Lambda would run it (200), or refuses it as Lambda does (an Inactive
/// version's first invocation fails and sets it Pending).
pub const INVOCATIONS_PATH: &str = "/_local/invocations";
/// `GET {STAGES_PATH}/REGION/API/STAGE`: 200 once API Gateway would serve the stage as it now
/// is, 404 while its creation or a change of its variables propagates (the data plane asks).
pub const STAGES_PATH: &str = "/_local/stages";

/// How `local up` runs the front (`cargo xtask local front`).
#[derive(Debug, Clone)]
pub struct Options {
    pub port: u16,
    pub state_dir: PathBuf,
    pub moto_url: String,
    pub registry_url: String,
}

pub(crate) struct Front {
    http: reqwest::Client,
    moto_url: String,
    registry_url: String,
    /// Everything the front tracks; one lock, held across a guarded write's forward to moto,
    /// so a guard and its write are atomic as on AWS.
    books: Mutex<Books>,
    books_file: PathBuf,
    /// Where `up` records the other components' ports (the data plane's, for its counts).
    state_dir: PathBuf,
    delays: std::sync::Mutex<Delays>,
    /// `REGION/API/STAGE` → when it was created or its variables last changed.
    stages_changed: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

pub async fn serve(options: Options) -> Result<()> {
    let books_file = options.state_dir.join("front.json");
    let front = Arc::new(Front {
        http: bgd_tls::http()
            .no_proxy()
            .build()
            .context("building the front's HTTP client")?,
        moto_url: options.moto_url,
        registry_url: options.registry_url,
        books: Mutex::new(Books::load(&books_file)?),
        books_file,
        state_dir: options.state_dir,
        delays: std::sync::Mutex::new(Delays::from_env()),
        stages_changed: std::sync::Mutex::default(),
    });
    let app = Router::new()
        .route(HEALTH_PATH, get(|| async { "ok" }))
        .route(DELAYS_PATH, post(delays_set))
        .route(
            &format!("{INVOCATIONS_PATH}/{{region}}/{{function}}/{{version}}"),
            post(lambda::invocation),
        )
        .route(
            &format!("{STAGES_PATH}/{{region}}/{{api}}/{{stage}}"),
            get(stage_served),
        )
        .fallback(handle)
        .with_state(front);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port))
        .await
        .with_context(|| format!("binding 127.0.0.1:{}", options.port))?;
    axum::serve(listener, app)
        .await
        .context("serving the front")
}

/// Whether the data plane serves a stage yet (see [`STAGES_PATH`]).
async fn stage_served(
    State(front): State<Arc<Front>>,
    axum::extract::Path((region, api, stage)): axum::extract::Path<(String, String, String)>,
) -> StatusCode {
    let changed = front
        .stages_changed
        .lock()
        .expect("lock")
        .get(&format!("{region}/{api}/{stage}"))
        .copied();
    let wait = std::time::Duration::from_millis(front.delays().stage_ms);
    if changed.is_none_or(|at| at.elapsed() >= wait) {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    }
}

/// Sets the delays of the running front at `front_url` (tests and the conformance suite
/// lengthen or shorten Lambda's and API Gateway's asynchronous work).
pub async fn set_delays(front_url: &str, delays: &Delays) -> Result<()> {
    let status = bgd_tls::client()
        .post(format!("{front_url}{DELAYS_PATH}"))
        .json(delays)
        .send()
        .await
        .context("setting the local cloud's delays")?
        .status();
    anyhow::ensure!(
        status == StatusCode::NO_CONTENT,
        "setting the local cloud's delays: {status}"
    );
    Ok(())
}

async fn delays_set(State(front): State<Arc<Front>>, Json(delays): Json<Delays>) -> StatusCode {
    *front.delays.lock().expect("lock") = delays;
    StatusCode::NO_CONTENT
}

/// One request as the SDK sent it: what the rules look at.
pub(crate) struct Call {
    pub method: Method,
    /// Path and query.
    pub target: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// From the request's signature: the region and service it is for.
    pub region: String,
    pub service: String,
}

impl Call {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// A field of a query-protocol (IAM, STS) form body.
    pub(crate) fn form(&self, name: &str) -> Option<String> {
        url_decoded_pairs(&self.body)
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

/// moto's answer, as the rules may rewrite it.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub(crate) fn with_json(mut self, value: &Value) -> Self {
        self.body = Bytes::from(value.to_string());
        self
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let mut response = Response::new(Body::from(self.body));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers;
        response
    }
}

/// A REST-JSON service error as Lambda and API Gateway send them.
pub(crate) fn refuse(status: StatusCode, code: &str, message: &str) -> Answer {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    if let Ok(code) = HeaderValue::from_str(code) {
        headers.insert("x-amzn-errortype", code);
    }
    Answer {
        status,
        headers,
        body: Bytes::from(json!({"Type": "User", "message": message}).to_string()),
    }
}

async fn handle(State(front): State<Arc<Front>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let (region, service) = scope(&parts.headers);
    let call = Call {
        method: parts.method,
        target: parts
            .uri
            .path_and_query()
            .map_or("/".into(), |p| p.to_string()),
        headers: parts.headers,
        body,
        region,
        service,
    };
    let answer = match call.service.as_str() {
        "lambda" => lambda::handle(&front, call).await,
        "ecr" if ecr_action(&call) == Some("GetAuthorizationToken") => front.registry_token(),
        "ecr" if ecr_action(&call) == Some("DeleteRepository") => {
            front.delete_repository(&call).await
        }
        "ecr" if ecr_action(&call) == Some("BatchDeleteImage") => {
            front.batch_delete_image(&call).await
        }
        "ecr" if ecr_action(&call) == Some("DescribeImages") => front.describe_images(&call).await,
        "iam" => front.iam(call).await,
        "apigateway" => front.apigateway(call).await,
        "monitoring" => cloudwatch::handle(&front, call).await,
        _ => front.forward(&call).await,
    };
    answer.into_response()
}

impl Front {
    pub(crate) fn delays(&self) -> Delays {
        *self.delays.lock().expect("lock")
    }

    /// Sends the call on to moto unchanged.
    pub(crate) async fn forward(&self, call: &Call) -> Answer {
        let mut request = self
            .http
            .request(
                call.method.clone(),
                format!("{}{}", self.moto_url, call.target),
            )
            .body(call.body.clone());
        for (name, value) in &call.headers {
            if name != "host" && name != "content-length" {
                request = request.header(name, value);
            }
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                return refuse(
                    StatusCode::BAD_GATEWAY,
                    "ServiceException",
                    &format!("moto: {e}"),
                );
            }
        };
        let status = response.status();
        let mut headers = HeaderMap::new();
        for (name, value) in response.headers() {
            if !matches!(
                name.as_str(),
                "content-length" | "transfer-encoding" | "connection"
            ) {
                headers.insert(name.clone(), value.clone());
            }
        }
        let body = response.bytes().await.unwrap_or_default();
        Answer {
            status,
            headers,
            body,
        }
    }

    pub(crate) async fn save(&self, books: &Books) {
        if let Err(e) = books.save(&self.books_file) {
            eprintln!("front: {e:#}");
        }
    }

    /// IAM: remembers when each role was created (Lambda cannot assume it at first).
    async fn iam(&self, call: Call) -> Answer {
        let action = call.form("Action");
        let role = call.form("RoleName");
        let mut answer = self.forward(&call).await;
        if let (Some(action), Some(role), true) = (action, role, answer.status.is_success()) {
            let mut books = self.books.lock().await;
            match action.as_str() {
                "CreateRole" => {
                    books.roles.insert(role, state::now_ms());
                    answer.body = created_role(&answer.body);
                }
                "DeleteRole" => {
                    books.roles.remove(&role);
                }
                _ => return answer,
            }
            self.save(&books).await;
        }
        answer
    }

    /// API Gateway: stage variables as AWS restricts them (moto stores anything).
    async fn apigateway(&self, call: Call) -> Answer {
        let body = call.json();
        let mut variables: Vec<(String, String)> = body["variables"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
            .collect();
        // UpdateStage: `replace /variables/NAME` operations.
        for op in body["patchOperations"].as_array().into_iter().flatten() {
            if let Some(name) = op["path"]
                .as_str()
                .and_then(|p| p.strip_prefix("/variables/"))
            {
                variables.push((
                    name.to_owned(),
                    op["value"].as_str().unwrap_or_default().into(),
                ));
            }
        }
        for (name, value) in variables {
            if let Some(error) = bgd_rules::stage_variable_error(&name, &value) {
                return refuse(StatusCode::BAD_REQUEST, "BadRequestException", &error);
            }
        }
        let paths = body["patchOperations"].as_array().into_iter().flatten();
        let stage_patch = call.method == Method::PATCH && call.target.contains("/stages/");
        if let Some(error) = paths
            .filter(|_| stage_patch)
            .find_map(|op| bgd_rules::stage_patch_error(op["path"].as_str().unwrap_or_default()))
        {
            return refuse(StatusCode::BAD_REQUEST, "BadRequestException", &error);
        }
        if let Some(refused) = self.deployment_in_use(&call).await {
            return refused;
        }
        if let Some(error) = body["description"].as_str().and_then(|d| {
            (d.chars().count() > 1024).then_some("description: at most 1024 characters")
        }) {
            return refuse(StatusCode::BAD_REQUEST, "BadRequestException", error);
        }
        let mut answer = self.forward(&call).await;
        let path = call.target.split('?').next().unwrap_or_default();
        answer.status = gateway_status(&call.method, path, answer.status);
        let stages = path.rsplit_once("/stages").is_some();
        if stages && answer.status.is_success() && !answer.body.is_empty() {
            let mut body = answer.json();
            match body["item"].as_array_mut() {
                Some(items) => items.iter_mut().for_each(bgd_rules::stage_defaults),
                None => bgd_rules::stage_defaults(&mut body),
            }
            answer = answer.with_json(&body);
        }
        // CreateStage (POST …/stages) and UpdateStage (PATCH …/stages/NAME) start propagating.
        let stage = match (&call.method, path.rsplit_once("/stages")) {
            (&Method::POST, Some((_, ""))) => body["stageName"].as_str().map(str::to_owned),
            (&Method::PATCH, Some((_, name))) => Some(name.trim_start_matches('/').to_owned()),
            _ => None,
        };
        let api = path
            .strip_prefix("/restapis/")
            .and_then(|rest| rest.split('/').next());
        if answer.status.is_success()
            && let (Some(stage), Some(api)) = (stage, api)
        {
            self.stages_changed.lock().expect("lock").insert(
                format!("{}/{api}/{stage}", call.region),
                std::time::Instant::now(),
            );
        }
        answer
    }
}

impl Front {
    /// DeleteDeployment of a deployment a stage serves: API Gateway refuses it (recorded:
    /// LocalStack's AWS-validated `test_create_update_deployments`, delete-deployment-error);
    /// moto deletes it.
    async fn deployment_in_use(&self, call: &Call) -> Option<Answer> {
        let path = call.target.split('?').next().unwrap_or_default();
        let (api_path, deployment) = path.rsplit_once("/deployments/")?;
        if call.method != Method::DELETE {
            return None;
        }
        let list = Call {
            method: Method::GET,
            target: format!("{api_path}/stages"),
            headers: call.headers.clone(),
            body: Bytes::new(),
            region: call.region.clone(),
            service: call.service.clone(),
        };
        let stages = self.forward(&list).await.json();
        let used = stages["item"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|stage| stage["deploymentId"].as_str() == Some(deployment));
        used.then(|| {
            refuse(
                StatusCode::BAD_REQUEST,
                "BadRequestException",
                "Active stages pointing to this deployment must be moved or deleted",
            )
        })
    }
}

/// CreateRole's answer names no `MaxSessionDuration` (GetRole's does), as recorded:
/// LocalStack's AWS-validated test_create_describe_role, create_role_result; moto's names it.
fn created_role(body: &[u8]) -> Bytes {
    let text = String::from_utf8_lossy(body);
    let (open, close) = ("<MaxSessionDuration>", "</MaxSessionDuration>");
    match (text.find(open), text.find(close)) {
        (Some(start), Some(end)) if start < end => {
            Bytes::from(format!("{}{}", &text[..start], &text[end + close.len()..]))
        }
        _ => Bytes::copy_from_slice(body),
    }
}

/// API Gateway's status for a success moto answers 200: 201 for a create (CreateRestApi,
/// CreateDeployment, CreateStage, CreateResource), 202 for a delete (DeleteRestApi,
/// DeleteStage, DeleteDeployment), as its API reference gives them and LocalStack's
/// AWS-validated snapshots recorded (test_apigateway_common: create-stage 201,
/// delete-deployment-1 202).
fn gateway_status(method: &Method, path: &str, status: StatusCode) -> StatusCode {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let collection = |names: &[&str]| segments.last().is_some_and(|last| names.contains(last));
    let item =
        |names: &[&str]| segments.len() >= 2 && names.contains(&segments[segments.len() - 2]);
    match *method {
        _ if status != StatusCode::OK => status,
        Method::POST if collection(&["restapis", "deployments", "stages", "resources"]) => {
            StatusCode::CREATED
        }
        Method::DELETE if item(&["restapis", "deployments", "stages"]) => StatusCode::ACCEPTED,
        _ => status,
    }
}

/// The region and service of a SigV4-signed request: `Credential=AKID/DATE/REGION/SERVICE/…`.
fn scope(headers: &HeaderMap) -> (String, String) {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mut parts = auth
        .split("Credential=")
        .nth(1)
        .unwrap_or_default()
        .split(['/', ',']);
    let region = parts.nth(2).unwrap_or_default().to_owned();
    let service = parts.next().unwrap_or_default().to_owned();
    (region, service)
}

/// The pairs of an `application/x-www-form-urlencoded` body.
fn url_decoded_pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

#[cfg(test)]
mod tests;
