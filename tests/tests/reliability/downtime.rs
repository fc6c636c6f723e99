//! Zero downtime: 16 clients hit green through the local gateway during a deploy and during a
//! rollback. Every client is on the old version when the switch starts (waited for, not slept
//! for), not one request fails, every client ends on the new one, and once a client saw the new
//! version it never sees the old one again after the gateway's cache window (1 s, like an alias
//! move's propagation).
use std::time::Duration;

use e2e::{
    prober::{self, Prober},
    stack::{Stack, images, path},
};

const CLIENTS: usize = 16;
const CACHE_WINDOW: Duration = Duration::from_secs(1);

/// Runs `args` under 16 clients; green moves from `old` to `new`. Returns requests sent.
async fn switch_under_load(stack: &Stack, green_url: &str, args: &[&str], old: &str) -> usize {
    let clients = Prober::start(green_url, CLIENTS, Duration::from_millis(40));
    clients.until_all_see(old, Duration::from_secs(30)).await;
    let switch = tokio::time::Instant::now();
    let report = stack.ok(args).await;
    let new = report["version"]
        .as_u64()
        .or(report["to"].as_u64())
        .unwrap()
        .to_string();
    // Within the cache window (and some slack for a loaded machine) every client is on it.
    clients.until_all_see(&new, CACHE_WINDOW * 5).await;
    let seen = clients.stop().await;
    for (index, client) in seen.iter().enumerate() {
        assert!(
            client
                .iter()
                .any(|s| s.sent < switch && s.version.as_deref() == Some(old)),
            "{args:?}: client {index} never saw version {old} before the switch"
        );
    }
    let failed = prober::failures(&seen);
    assert!(
        failed.is_empty(),
        "{args:?}: {} requests failed: {failed:?}",
        failed.len()
    );
    let stale = prober::old_after_new(&seen, old, &new, CACHE_WINDOW);
    assert!(
        stale.is_empty(),
        "{args:?}: old version {old} after {new}: {stale:?}"
    );
    for client in &seen {
        assert_eq!(
            client.last().unwrap().version.as_deref(),
            Some(new.as_str())
        );
    }
    let sent = seen.iter().map(Vec::len).sum();
    eprintln!("{args:?}: {sent} requests from {CLIENTS} clients, 0 failed");
    sent
}

#[tokio::test(flavor = "multi_thread")]
async fn sixteen_clients_see_no_failure_and_no_flapping_through_a_deploy_and_a_rollback() {
    let (image_a, image_b) = images();
    let stack = Stack::new("zero-downtime");
    let first = stack.ok(&["deploy", "--image", path(image_a)]).await;
    let green_url = first["green_url"].as_str().unwrap().to_owned();
    let version_a = first["version"].to_string();
    let deploy = ["deploy", "--image", path(image_b)];
    let mut sent = switch_under_load(&stack, &green_url, &deploy, &version_a).await;
    let version_b = stack.status().await["aliases"][0]["version"]
        .as_str()
        .unwrap()
        .to_owned();
    let rollback = ["rollback", "--to", &version_a];
    sent += switch_under_load(&stack, &green_url, &rollback, &version_b).await;
    eprintln!("requests sent during switches: {sent}, failed: 0");
}
