//! [`Traffic`] on the local cloud: the counts its data plane keeps per alias and executed
//! version, the same numbers Lambda publishes to CloudWatch.
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;

use crate::health::{Reading, Traffic};

/// The gateway at `url` (`http://127.0.0.1:PORT`).
pub struct GatewayTraffic {
    url: String,
    http: reqwest::Client,
}

impl GatewayTraffic {
    pub fn new(url: &str) -> Self {
        Self {
            url: url.trim_end_matches('/').to_owned(),
            http: crate::tls::client(),
        }
    }
}

impl Traffic for GatewayTraffic {
    fn by_version<'a>(
        &'a self,
        function: &'a str,
        alias: &'a str,
        since: SystemTime,
    ) -> Reading<'a> {
        Box::pin(async move {
            let since = since.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
            // Function and alias names are letters, digits, '-' and '_': nothing to escape.
            let url = format!(
                "{}{}?function={function}&qualifier={alias}&since={since}",
                self.url,
                local_gateway::METRICS_PATH
            );
            let read = async {
                let answer = self.http.get(&url).send().await?;
                answer.error_for_status()?.json().await
            };
            read.await
                .with_context(|| format!("reading {function}:{alias}'s invocations from {url}"))
        })
    }

    fn source(&self) -> &'static str {
        "the local data plane's counts"
    }
}
