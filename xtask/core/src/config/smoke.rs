//! deploy.toml's `[[smoke]]` checks: requests made against blue, then green.
use std::collections::BTreeMap;

use anyhow::{Result, bail};
use serde::Deserialize;

/// A request made against blue (then green) once the self-report matches.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Smoke {
    #[serde(default = "default_method")]
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A JSON body (a TOML table or value), sent with `content-type: application/json`.
    pub json: Option<toml::Value>,
    /// A text body, sent as it is.
    pub body: Option<String>,
    #[serde(default = "default_status")]
    pub status: u16,
    pub contains: Option<String>,
}

impl Smoke {
    /// The request body and its content type, when there is one.
    pub fn payload(&self) -> Result<Option<(String, &'static str)>> {
        match (&self.json, &self.body) {
            (Some(json), None) => Ok(Some((serde_json::to_string(json)?, "application/json"))),
            (None, Some(body)) => Ok(Some((body.clone(), "text/plain"))),
            (None, None) => Ok(None),
            (Some(_), Some(_)) => bail!("give json or body, not both"),
        }
    }

    pub(super) fn check(&self) -> Result<()> {
        if !self.path.starts_with('/') {
            bail!("path {:?} must start with '/'", self.path);
        }
        if !(100..=599).contains(&self.status) {
            bail!("status = {}: an HTTP status is 100 to 599", self.status);
        }
        if !matches!(
            self.method.as_str(),
            "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS"
        ) {
            bail!(
                "method = {:?}: use GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS",
                self.method
            );
        }
        self.payload()?;
        Ok(())
    }
}

fn default_status() -> u16 {
    200
}

fn default_method() -> String {
    "GET".into()
}
