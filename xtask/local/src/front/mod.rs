//! The local cloud's strict front: what the SDK talks to (`AWS_ENDPOINT_URL`), with moto behind
//! it. moto accepts what AWS refuses and forgets what AWS keeps; the front adds, server-side,
//! what the pipeline relies on: function and version states, role propagation, atomic
//! RevisionId and CodeSha256 guards, AWS's limits, the image each version runs, and ECR's
//! registry endpoint (the local registry), and CloudWatch, which moto cannot serve to the Rust
//! SDK (`cloudwatch.rs`); and every account and region apart, as AWS keeps them (`sts.rs`:
//! which account a call acts in; `registry.rs`: each one's ECR registry). So `cloud/` talks to
//! the local cloud exactly as to AWS. Each rule is defined once, with its source, in `crate::rules`; docs/aws-behaviours.md lists their tests.
mod alias;
mod apigateway;
mod cbor;
mod cloudwatch;
mod describe;
mod ecr;
mod iam;
mod lambda;
mod query;
mod registry;
mod state;
mod sts;

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

/// The manifests the front asks the local registry for (what the pushed images are).
const MANIFEST_TYPES: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// Answers 200 once the front serves.
pub const HEALTH_PATH: &str = "/_local/health";
/// `POST` a [`Delays`] to change them while the front runs (tests).
pub const DELAYS_PATH: &str = "/_local/delays";
/// `POST /_local/invocations/ACCOUNT/REGION/FUNCTION/VERSION`: the data plane reports an
/// invocation and learns whether Lambda would run it (200), or refuses it as Lambda does (an
/// Inactive version's first invocation fails and sets it Pending).
pub const INVOCATIONS_PATH: &str = "/_local/invocations";
/// `GET {STAGES_PATH}/ACCOUNT/REGION/API/STAGE`: 200 once API Gateway would serve the stage as
/// it now is, 404 while its creation or a change of its variables propagates (the data plane
/// asks).
pub const STAGES_PATH: &str = "/_local/stages";

/// How `local up` runs the front (`cargo xtask local front`).
#[derive(Debug, Clone)]
pub struct Options {
    pub port: u16,
    pub state_dir: PathBuf,
    pub moto_url: String,
    pub registry_url: String,
    /// The region whose default account's repositories keep their plain names in the
    /// registry (`registry.rs`).
    pub region: String,
}

pub(crate) struct Front {
    http: reqwest::Client,
    moto_url: String,
    registry_url: String,
    /// Where the front itself answers (it serves the registry API: `registry.rs`).
    url: String,
    region: String,
    /// Everything the front tracks; one lock, held across a guarded write's forward to moto,
    /// so a guard and its write are atomic as on AWS.
    books: Mutex<Books>,
    books_file: PathBuf,
    /// Where `up` records the other components' ports (the data plane's, for its counts).
    state_dir: PathBuf,
    delays: std::sync::Mutex<Delays>,
    /// `ACCOUNT/REGION/API/STAGE` → when it was created or its variables last changed.
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
        url: format!("http://127.0.0.1:{}", options.port),
        region: options.region,
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
            &format!("{INVOCATIONS_PATH}/{{account}}/{{region}}/{{function}}/{{version}}"),
            post(lambda::invocation),
        )
        .route(
            &format!("{STAGES_PATH}/{{account}}/{{region}}/{{api}}/{{stage}}"),
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
    axum::extract::Path((account, region, api, stage)): axum::extract::Path<(
        String,
        String,
        String,
        String,
    )>,
) -> StatusCode {
    let changed = front
        .stages_changed
        .lock()
        .expect("lock")
        .get(&format!("{account}/{region}/{api}/{stage}"))
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
    /// The account the credentials belong to (see [`Front::account_of`]).
    pub account: String,
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

    /// The key of `name` in the front's books: `ACCOUNT/REGION/NAME`, as AWS keeps every
    /// account's and region's resources apart.
    pub(crate) fn scoped(&self, name: &str) -> String {
        format!("{}/{}/{name}", self.account, self.region)
    }
}

/// moto's answer, as the rules may rewrite it.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    /// `response` as the front's answer, without the hop-by-hop headers and those in `dropped`.
    pub(crate) async fn relayed(response: reqwest::Response, dropped: &[&str]) -> Self {
        let status = response.status();
        let mut headers = HeaderMap::new();
        for (name, value) in response.headers() {
            let hop = matches!(name.as_str(), "transfer-encoding" | "connection");
            if !hop && !dropped.contains(&name.as_str()) {
                headers.insert(name.clone(), value.clone());
            }
        }
        let body = response.bytes().await.unwrap_or_default();
        Self {
            status,
            headers,
            body,
        }
    }

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
    if registry::is_registry_call(&parts) {
        return front.registry(&parts, body).await.into_response();
    }
    let (region, service) = scope(&parts.headers);
    let account = front.account_of(&parts.headers).await;
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
        account,
    };
    let answer = match call.service.as_str() {
        "lambda" => lambda::handle(&front, call).await,
        "ecr" if ecr_action(&call) == Some("GetAuthorizationToken") => front.registry_token(&call),
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
        _ if sts::assumes_role(&call) => front.assume_role(&call).await,
        _ => front.forward(&call).await,
    };
    answer.into_response()
}

impl Front {
    pub(crate) fn delays(&self) -> Delays {
        *self.delays.lock().expect("lock")
    }

    /// Sends the call on to moto unchanged, for the caller's account: moto's server takes the
    /// account from `x-moto-account-id` (moto's docs/multi_account.rst; read only while
    /// MOTO_ACCOUNT_ID is unset, which `local up` never sets).
    pub(crate) async fn forward(&self, call: &Call) -> Answer {
        let mut request = self
            .http
            .request(
                call.method.clone(),
                format!("{}{}", self.moto_url, call.target),
            )
            .header("x-moto-account-id", &call.account)
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
        // moto's Content-Length is set again for the body the front answers.
        Answer::relayed(response, &["content-length"]).await
    }

    pub(crate) async fn save(&self, books: &Books) {
        if let Err(e) = books.save(&self.books_file) {
            eprintln!("front: {e:#}");
        }
    }
}

/// The region and service of a SigV4-signed request: `Credential=AKID/DATE/REGION/SERVICE/…`.
fn scope(headers: &HeaderMap) -> (String, String) {
    let mut parts = credential(headers).split(['/', ',']);
    let region = parts.nth(2).unwrap_or_default().to_owned();
    let service = parts.next().unwrap_or_default().to_owned();
    (region, service)
}

/// The access key id a SigV4-signed request names.
fn access_key(headers: &HeaderMap) -> &str {
    credential(headers).split('/').next().unwrap_or_default()
}

fn credential(headers: &HeaderMap) -> &str {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    auth.split("Credential=").nth(1).unwrap_or_default()
}

/// The pairs of an `application/x-www-form-urlencoded` body.
fn url_decoded_pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

#[cfg(test)]
mod tests;
