//! The Runtime API one instance polls (`/invocation/next`, `/response`, `/error`,
//! `/init/error`), one invocation at a time, as Lambda serves it.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{SystemTime, UNIX_EPOCH},
};

use axum::{
    Router,
    body::Bytes,
    extract::{DefaultBodyLimit, Path as UrlPath, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use tokio::sync::{Notify, mpsc, oneshot};

use super::{MAX_RESPONSE, Outcome, Spec};

pub(super) struct Invocation {
    pub(super) request_id: String,
    pub(super) payload: Bytes,
    pub(super) reply: oneshot::Sender<Outcome>,
}

pub(super) struct Api {
    pub(super) spec: Spec,
    pub(super) next: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    pub(super) in_flight: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    pub(super) init_error: Mutex<Option<Bytes>>,
    /// Signalled by each `/invocation/next`: the first ends the Init phase.
    pub(super) asked: Notify,
}

/// The Runtime API's routes over `api`.
pub(super) fn router(api: Arc<Api>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        // Responses over 6 MB are read and refused as Lambda refuses them, not cut off.
        .layer(DefaultBodyLimit::disable())
        .with_state(api)
}

async fn next_invocation(State(api): State<Arc<Api>>) -> Response {
    api.asked.notify_one();
    let Some(invocation) = api.next.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let request_id = invocation.request_id;
    let deadline = SystemTime::now() + api.spec.timeout;
    let deadline_ms = deadline
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    api.in_flight
        .lock()
        .expect("lock")
        .insert(request_id.clone(), invocation.reply);
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("lambda-runtime-aws-request-id", request_id.as_str()),
        ("lambda-runtime-deadline-ms", &deadline_ms.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            &api.spec.invoked_function_arn,
        ),
        (
            "lambda-runtime-trace-id",
            "Root=1-00000000-000000000000000000000000;Sampled=0",
        ),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    (StatusCode::OK, headers, invocation.payload).into_response()
}

async fn response(
    State(api): State<Arc<Api>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    if body.len() > MAX_RESPONSE {
        let refused = serde_json::json!({
            "errorType": "Function.ResponseSizeTooLarge",
            "errorMessage": format!(
                "Response payload size ({} bytes) exceeded maximum allowed payload size ({MAX_RESPONSE} bytes).",
                body.len()
            ),
        });
        settle(
            &api,
            &id,
            Outcome::FunctionError(refused.to_string().into()),
        );
        return StatusCode::PAYLOAD_TOO_LARGE;
    }
    settle(&api, &id, Outcome::Response(body))
}

async fn error(
    State(api): State<Arc<Api>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    settle(&api, &id, Outcome::FunctionError(body))
}

async fn init_error(State(api): State<Arc<Api>>, body: Bytes) -> StatusCode {
    *api.init_error.lock().expect("lock") = Some(body);
    StatusCode::ACCEPTED
}

fn settle(api: &Api, id: &str, outcome: Outcome) -> StatusCode {
    match api.in_flight.lock().expect("lock").remove(id) {
        Some(reply) => {
            let _ = reply.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::NOT_FOUND,
    }
}
