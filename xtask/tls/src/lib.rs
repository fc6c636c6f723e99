//! The one TLS stack of every client the tooling makes: rustls on ring, for the AWS SDK
//! (`bgd-aws` builds its HTTP client on the same provider), the registry (oci-client) and the
//! stage checks (reqwest). aws-lc, the SDK's default, costs a C build of about 110 s on two
//! cores that every SDK crate waits for (docs/performance.md); ring builds in about 25 s and is
//! what rustls used before. Both verify AWS's and ECR's certificates against the host's roots.

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
