//! Logs as Lambda's advanced logging controls ask (for `main` to call, if the service has no
//! subscriber of its own), and the request line the layer writes for every request.
use lambda_http::{
    http::{Method, StatusCode},
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
pub(crate) fn request(request_id: &str, method: &Method, path: &str, status: StatusCode) {
    tracing::info!(
        request_id,
        method = %method,
        path = %path,
        status = status.as_u16(),
        "request"
    );
}
