//! The SDK's HTTP client on the one TLS stack (`bgd-tls`): hyper with rustls on ring.
use aws_smithy_http_client::{
    Builder,
    tls::{Provider, TlsContext, rustls_provider::CryptoMode},
};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// The SDK's HTTP client: hyper with rustls on ring, the host's roots.
pub(crate) fn sdk_http_client() -> SharedHttpClient {
    sdk_http_client_trusting(TlsContext::default())
}

/// The same, trusting `roots` (the handshake test's own CA).
pub(crate) fn sdk_http_client_trusting(roots: TlsContext) -> SharedHttpClient {
    Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .tls_context(roots)
        .build_https()
}
