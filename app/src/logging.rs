//! Logs as Lambda's advanced logging controls ask, and the request log line.
use lambda_http::{
    Body, Request, RequestExt, Response,
    tracing::subscriber::{self, filter::LevelFilter},
};

/// What lambda_http's `init_default_subscriber` does: JSON when the function's log format is
/// JSON (`AWS_LAMBDA_LOG_FORMAT`), text otherwise, at `AWS_LAMBDA_LOG_LEVEL` (INFO by default),
/// no timestamps (CloudWatch adds them). Not that function itself: its `RUST_LOG` filter syntax
/// links a regex engine, 0.53 MB more bootstrap (3.09 MB, past the 3 MB goal; measured).
pub fn init() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .ok()
        .and_then(|level| level.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let logs = subscriber::fmt()
        .with_max_level(level)
        .with_target(false)
        .without_time();
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    if json {
        logs.json().init();
    } else {
        logs.init();
    }
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
