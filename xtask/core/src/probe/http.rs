//! How the prober reaches a stage: one request, one answer, behind [`Http`] so the simulation
//! can answer in memory; `bgd-aws`'s `HttpClient` is reqwest.
use std::{fmt, future::Future};

use super::VERIFY_TOKEN_HEADER;
use crate::secret::hiding;

/// One request to a stage, as the prober sends it.
#[derive(Clone)]
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

/// Without the verify token's value (security-audit-3 #25), as [`crate::cloud::Stage`].
impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers = self.headers.iter().map(|(name, value)| (name, value));
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &hiding(headers, VERIFY_TOKEN_HEADER))
            .field("body", &self.body)
            .finish()
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
