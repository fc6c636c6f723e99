//! How the prober reaches a stage: one request, one answer, behind [`Http`] so the simulation
//! can answer in memory; [`HttpClient`] is reqwest.
use std::{future::Future, time::Duration};

use super::APP_VERSION_HEADER;

/// One request to a stage, as the prober sends it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub url: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body and its content type.
    pub body: Option<(String, &'static str)>,
}

impl Request {
    /// The value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A stage's answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    /// The app's `x-app-version` header: present only on answers the app itself gave.
    pub app_version: Option<String>,
}

/// How a request reaches a stage; `Err` when no answer came (a connection or timeout error).
pub trait Http: Send + Sync {
    fn send(&self, request: Request) -> impl Future<Output = Result<Answer, String>> + Send;
}

/// HTTP through reqwest, following no redirects: a 3xx is the stage's answer, and the token
/// never leaves blue's host.
pub struct HttpClient {
    client: reqwest::Client,
}

impl Default for HttpClient {
    fn default() -> Self {
        let client = crate::tls::http()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(35))
            .build()
            .expect("a reqwest client with only a timeout set builds");
        Self { client }
    }
}

impl Http for HttpClient {
    async fn send(&self, request: Request) -> Result<Answer, String> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|e| format!("method {:?}: {e}", request.method))?;
        let mut builder = self.client.request(method, &request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some((body, content_type)) = request.body {
            builder = builder.header("content-type", content_type).body(body);
        }
        let response = builder.send().await.map_err(|e| format!("{e}"))?;
        let status = response.status().as_u16();
        let app_version = response
            .headers()
            .get(APP_VERSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        // A body that breaks off or times out is a failed answer, not an empty one: a check
        // wanting only a status passed on it before (security-audit-3 N16).
        let body = response
            .text()
            .await
            .map_err(|e| format!("answered {status}, then reading the body failed: {e}"))?;
        Ok(Answer {
            status,
            body,
            app_version,
        })
    }
}
