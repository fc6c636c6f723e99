//! Whether a component answers: its health endpoint, asked with a short timeout, given up on
//! as soon as its process exits.
use std::{path::Path, time::Duration};

use anyhow::{Context, Result, bail};
use tokio::time::Instant;

use super::{components::Component, process};

/// moto can take a few seconds to import its services on a cold start.
const START_TIMEOUT: Duration = Duration::from_secs(60);

pub(super) fn health_client() -> Result<reqwest::Client> {
    bgd_tls::http()
        .timeout(Duration::from_secs(2))
        .no_proxy()
        .build()
        .context("building the health-check HTTP client")
}

pub(super) async fn healthy(http: &reqwest::Client, component: Component, port: u16) -> bool {
    http.get(component.health_url(port))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

/// Whether `pid` answers on `port` within `patience` (false as soon as it exits).
pub(super) async fn answers_within(
    http: &reqwest::Client,
    component: Component,
    pid: u32,
    port: u16,
    patience: Duration,
) -> bool {
    let deadline = Instant::now() + patience;
    loop {
        if healthy(http, component, port).await {
            return true;
        }
        if !process::is_alive(pid) || Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(super) async fn wait_healthy(
    http: &reqwest::Client,
    component: Component,
    pid: u32,
    port: u16,
    log: &Path,
) -> Result<()> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        // Only an answer while our process lives counts: when the port was taken under us,
        // whoever took it answers while ours exits.
        if healthy(http, component, port).await {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if process::is_alive(pid) {
                return Ok(());
            }
        }
        if !process::is_alive(pid) || Instant::now() > deadline {
            bail!(
                "{} (pid {pid}) did not answer on port {port}: see {}",
                component.name(),
                log.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
