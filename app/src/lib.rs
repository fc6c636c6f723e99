//! The sample's own routes, an axum `Router` (`GET /`, `POST /greet`): it knows nothing of
//! blue, green or verification, which `bgd_contract` adds around it in `main.rs`. Client
//! mistakes are typed JSON errors with a 4xx status, never an `Err`.
use axum::{
    Json, Router,
    body::Bytes,
    extract::{FromRequest, Request, State},
    http::{StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::json;

/// What the routes are configured with, read once at start-up.
#[derive(Debug, Clone, Default)]
pub struct Greeting(Option<String>);

impl Greeting {
    /// `GREETING` from the process environment (deploy.toml's `[function.environment]`).
    pub fn from_env() -> Self {
        Self::new(std::env::var("GREETING").ok())
    }

    /// An empty value counts as unset, as `/health` counts it missing.
    pub fn new(greeting: Option<String>) -> Self {
        Self(greeting.filter(|g| !g.is_empty()))
    }
}

/// The routes, with JSON answers for unknown paths and methods.
pub fn router(greeting: Greeting) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/greet", post(greet))
        .fallback(not_found)
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(greeting)
}

#[derive(Debug, Serialize)]
struct Message {
    message: String,
}

#[derive(Debug, Deserialize)]
struct Greet {
    name: String,
}

/// A client's mistake or a missing setting, answered as `{"error": ...}` with its status.
#[derive(Debug)]
pub enum ApiError {
    /// `GREETING` is not configured (deploy.toml's `[function.environment]`).
    NotConfigured,
    /// The body is not JSON like `{"name": "..."}`: why.
    BadBody(String),
    NotFound(String),
    MethodNotAllowed,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            Self::NotConfigured => (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "GREETING is not set"}),
            ),
            Self::BadBody(detail) => (
                StatusCode::BAD_REQUEST,
                json!({"error": "body must be JSON like {\"name\": \"...\"}", "detail": detail}),
            ),
            Self::NotFound(path) => (
                StatusCode::NOT_FOUND,
                json!({"error": "not found", "path": path}),
            ),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                json!({"error": "method not allowed"}),
            ),
        };
        (status, Json(body)).into_response()
    }
}

async fn root(State(greeting): State<Greeting>) -> Result<Json<Message>, ApiError> {
    let message = greeting.0.ok_or(ApiError::NotConfigured)?;
    Ok(Json(Message { message }))
}

/// A JSON body whatever its content-type says: axum's `Json` refuses a body sent without
/// `content-type: application/json`, and the sample has always taken one (`curl -d`).
struct JsonBody<T>(T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| ApiError::BadBody(e.body_text()))?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::BadBody(e.to_string()))
    }
}

async fn greet(
    State(greeting): State<Greeting>,
    JsonBody(greet): JsonBody<Greet>,
) -> Result<Json<Message>, ApiError> {
    let greeting = greeting.0.as_deref().unwrap_or("hello");
    Ok(Json(Message {
        message: format!("{greeting}, {}", greet.name),
    }))
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(uri.path().to_owned())
}
