//! How the stage checks reach a stage on AWS and the local cloud: reqwest, behind `bgd-core`'s
//! [`Http`].
use std::time::Duration;

use bgd_core::probe::{APP_VERSION_HEADER, Answer, Http, Request};

/// HTTP through reqwest, following no redirects: a 3xx is the stage's answer, and the token
/// never leaves blue's host.
pub struct HttpClient {
    client: reqwest::Client,
}

impl Default for HttpClient {
    fn default() -> Self {
        let client = bgd_tls::http()
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

#[cfg(test)]
mod tests;
