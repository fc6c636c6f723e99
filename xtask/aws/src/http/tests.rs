//! The stage checks over real HTTP: what reqwest is told (no redirects, a body that breaks off
//! is a failure) and what the prober makes of a real answer.
use std::time::Duration;

use bgd_core::{
    probe::{Endpoint, Expect, Http, Prober, Request},
    secret::Secret,
};

use super::HttpClient;

/// A stage at `url` that answers a request with the token as blue would (the self-report
/// of version 7) and one without it with `without` (status, headers): API Gateway's 403
/// for a stage it does not serve yet has no x-app-version.
async fn stage(without: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buffer = vec![0; 8192];
            let n = socket.read(&mut buffer).await.unwrap_or(0);
            let request = String::from_utf8_lossy(&buffer[..n]).to_lowercase();
            let body = r#"{"function":"bgd","version":"7","alias":"blue","stage":"blue","build":{"git_sha":"abc","dirty":false,"built_at":"t"}}"#;
            let answer = if request.contains("x-verify-token: t0ken") {
                format!(
                    "HTTP/1.1 200 OK\r\nx-app-version: 7\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
            } else {
                format!("{without}\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}")
            };
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    url
}

#[tokio::test]
async fn only_the_apps_own_403_proves_blue_demands_its_token() {
    let expect = Expect {
        version: 7,
        alias: "blue".into(),
        git_sha: "abc".into(),
        build_id: None,
    };
    let probe = |url: String| async {
        let endpoint = Endpoint {
            url,
            token: Some(Secret::from("t0ken".to_owned())),
        };
        Prober::new(HttpClient::default())
            .verify(&endpoint, &expect, &[], Duration::from_secs(1))
            .await
    };
    let gateway = probe(stage("HTTP/1.1 403 Forbidden").await)
        .await
        .unwrap_err();
    assert!(
        gateway.check.contains("without the token") && gateway.detail.contains("not from the app"),
        "{gateway}"
    );
    // The app's own 403, naming the candidate, passes.
    let app = probe(stage("HTTP/1.1 403 Forbidden\r\nx-app-version: 7").await).await;
    assert_eq!(app.unwrap().version.as_deref(), Some("7"));
}

#[tokio::test]
async fn a_redirect_is_the_answer_and_the_token_is_not_sent_on() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut requests = 0;
        while let Ok((mut socket, _)) = listener.accept().await {
            requests += 1;
            let mut buffer = [0; 4096];
            let _ = socket.read(&mut buffer).await;
            let answer = "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:9/steal\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
            socket.write_all(answer.as_bytes()).await.unwrap();
            if requests == 1 {
                break;
            }
        }
        requests
    });
    let endpoint = Endpoint {
        url,
        token: Some(Secret::from("t0ken".to_owned())),
    };
    let answer = Prober::new(HttpClient::default())
        .get(&endpoint, "/version", true)
        .await
        .unwrap();
    assert_eq!(answer.status, 302);
    assert_eq!(server.await.unwrap(), 1);
}

/// security-audit-3 N16: an answer whose body breaks off was read as an empty body, so a check
/// wanting only a status passed on it.
#[tokio::test]
async fn a_body_that_breaks_off_is_a_failed_answer_not_an_empty_one() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/health", listener.local_addr().unwrap());
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buffer = vec![0; 4096];
        let _ = socket.read(&mut buffer).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"ok\":";
        socket.write_all(head.as_bytes()).await.unwrap();
        // Closed with 94 bytes of the body still owed.
    });
    let request = Request {
        method: "GET".into(),
        url,
        headers: Vec::new(),
        body: None,
    };
    let error = HttpClient::default().send(request).await.unwrap_err();
    assert!(error.contains("reading the body failed"), "{error}");
}
