//! The one TLS stack of every client xtask makes: rustls on ring, for the AWS SDK, the
//! registry (oci-client) and the stage checks (reqwest). aws-lc, the SDK's default, costs a C
//! build of about 110 s on two cores that every SDK crate waits for (docs/performance.md);
//! ring builds in about 25 s and is what rustls used before. Both verify AWS's and ECR's
//! certificates against the host's roots.
use aws_smithy_http_client::{
    Builder,
    tls::{Provider, TlsContext, rustls_provider::CryptoMode},
};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// Makes ring rustls's process-wide default, which reqwest and oci-client build their TLS
/// from. Idempotent: a second call finds it installed.
pub fn install() {
    // Err only when a provider is installed already: this one, by an earlier call.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A reqwest client builder, its TLS on ring.
pub fn http() -> reqwest::ClientBuilder {
    install();
    reqwest::Client::builder()
}

/// A reqwest client with nothing else set.
pub fn client() -> reqwest::Client {
    http()
        .build()
        .expect("a reqwest client without settings builds")
}

/// The SDK's HTTP client: hyper with rustls on ring, the host's roots.
pub fn sdk_http_client() -> SharedHttpClient {
    sdk_http_client_trusting(TlsContext::default())
}

/// The same, trusting `roots` (the handshake test's own CA).
pub(crate) fn sdk_http_client_trusting(roots: TlsContext) -> SharedHttpClient {
    Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .tls_context(roots)
        .build_https()
}
