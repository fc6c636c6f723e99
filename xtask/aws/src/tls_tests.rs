//! Both of `crate::tls`'s clients finish a real TLS handshake on ring: a loopback HTTPS server
//! with a test CA (`testdata/`: a CA and a `localhost` certificate made for this test only,
//! valid to 2126)
//! answers one STS call through the SDK and one GET through reqwest. A client without a
//! crypto provider, or with a provider rustls cannot use, fails here, not on AWS.
use std::{
    io::{Read, Write},
    net::TcpListener,
    sync::Arc,
};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_sts::config::Credentials;
use aws_smithy_http_client::tls::{TlsContext, TrustStore};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};

const CA: &[u8] = include_bytes!("testdata/ca.pem");
const CERT: &[u8] = include_bytes!("testdata/localhost.pem");
const KEY: &[u8] = include_bytes!("testdata/localhost.key");

/// STS's answer to GetCallerIdentity, as documented.
const IDENTITY: &str = "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/tls</Arn><UserId>AIDTLS</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>";

/// Serves `connections` HTTPS connections, one request each, answering `body` with 200.
fn serve(connections: usize, body: &'static str) -> u16 {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from_pem_slice(CERT).unwrap()],
            PrivateKeyDer::from_pem_slice(KEY).unwrap(),
        )
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(connections) {
            let connection = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(connection, stream.unwrap());
            let mut request = Vec::new();
            let mut chunk = [0; 4096];
            // Headers and a small body arrive before the client waits for us.
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match tls.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&chunk[..n]),
                }
            }
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = tls.write_all(answer.as_bytes());
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    port
}

#[tokio::test]
async fn the_sdk_and_reqwest_speak_tls_on_ring() {
    let port = serve(2, IDENTITY);

    let roots = TlsContext::builder()
        .with_trust_store(TrustStore::empty().with_pem_certificate(CA))
        .build()
        .unwrap();
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(format!("https://localhost:{port}"))
        .credentials_provider(Credentials::new("AKID", "secret", None, None, "test"))
        .http_client(crate::tls::sdk_http_client_trusting(roots))
        .build();
    let identity = aws_sdk_sts::Client::from_conf(config)
        .get_caller_identity()
        .send()
        .await
        .expect("the SDK's call over TLS");
    assert_eq!(identity.account(), Some("123456789012"));

    let client = bgd_tls::http()
        .tls_certs_only([reqwest::Certificate::from_pem(CA).unwrap()])
        .build()
        .unwrap();
    let body = client
        .get(format!("https://localhost:{port}/"))
        .send()
        .await
        .expect("reqwest's GET over TLS")
        .text()
        .await
        .unwrap();
    assert_eq!(body, IDENTITY);
}
