//! The sample's own routes, an axum `Router` (`GET /`, `POST /greet`): it knows nothing of
//! blue, green or verification, which `bgd_contract` adds around it in `main.rs`. Client
//! mistakes are typed JSON errors with a 4xx status, never an `Err`.
use axum::{
    Json, Router,
    extract::{State, rejection::JsonRejection},
    http::{StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
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
    /// The body is not JSON like `{"name": "..."}`.
    BadBody(JsonRejection),
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
            Self::BadBody(rejection) => (
                StatusCode::BAD_REQUEST,
                json!({"error": "body must be JSON like {\"name\": \"...\"}", "detail": rejection.body_text()}),
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

async fn greet(
    State(greeting): State<Greeting>,
    body: Result<Json<Greet>, JsonRejection>,
) -> Result<Json<Message>, ApiError> {
    let Json(greet) = body.map_err(ApiError::BadBody)?;
    let greeting = greeting.0.as_deref().unwrap_or("hello");
    Ok(Json(Message {
        message: format!("{greeting}, {}", greet.name),
    }))
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(uri.path().to_owned())
}
