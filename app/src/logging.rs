//! Logs as CloudWatch users expect them: one JSON object per line, at the level
//! `AWS_LAMBDA_LOG_LEVEL` names (INFO by default), each request line carrying its request id.
use lambda_http::{Body, Request, RequestExt, Response};
use tracing::level_filters::LevelFilter;

pub fn init() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .ok()
        .and_then(|level| level.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    tracing_subscriber::fmt()
        .json()
        .with_max_level(level)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .init();
}

/// One line per request: never headers or bodies, which may carry tokens or personal data.
pub fn request(request: &Request, response: &Response<Body>) {
    let request_id = request
        .lambda_context_ref()
        .map(|ctx| ctx.request_id.as_str())
        .unwrap_or_default();
    tracing::info!(
        request_id,
        method = %request.method(),
        path = %request.raw_http_path(),
        status = response.status().as_u16(),
        "request"
    );
}
