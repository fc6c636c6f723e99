//! The promise, end to end: green serves only what blue verified in this very stack (exit 5
//! when blue fails verification, green unchanged); `statement.rs` has the runs' statements.
use std::time::Duration;

use bgd_core::cloud::{Functions, VersionState};
use bgd_local::{LocalCloud, front};
use e2e::{
    prober::{self, Prober},
    stack::{Stack, alias_version, images, path, version_at},
};
use serde_json::Value;

fn json(stdout: &[u8]) -> Value {
    serde_json::from_slice(stdout).expect("--json prints a result, on failure too")
}

#[tokio::test(flavor = "multi_thread")]
async fn green_never_serves_a_version_verified_only_by_an_earlier_stack() {
    let (image_a, image_b) = images();
    let stack = Stack::new("stale-verified");
    // An earlier stack of the same name verified versions 1 (a) and 2 (b), then was destroyed.
    stack.ok(&["deploy", "--image", path(image_a)]).await;
    let second = stack.ok(&["deploy", "--image", path(image_b)]).await;
    assert_eq!(second["version"], 2);
    stack.ok(&["destroy", "--yes"]).await;
    // As ECR does, deleting the repository deleted its images and tags.
    let registry = LocalCloud::at(stack.local_dir())
        .endpoints()
        .unwrap()
        .registry_url;
    let tags = bgd_tls::client()
        .get(format!("{registry}/v2/{}/tags/list", stack.name))
        .send()
        .await
        .unwrap();
    let left: Value = tags.json().await.unwrap_or(Value::Null);
    assert!(
        left["tags"].as_array().is_none_or(Vec::is_empty),
        "the registry kept {left}"
    );

    // A new stack: version 1 again. Then image b with GREETING missing: /health answers 503.
    let first = stack.ok(&["deploy", "--image", path(image_a)]).await;
    assert_eq!(first["version"], 1);
    let green_url = first["green_url"].as_str().unwrap().to_owned();
    stack.configure("OTHER = \"x\"", "hello");
    let broken = stack.xtask(&["deploy", "--image", path(image_b)]).await;
    assert_eq!(broken.status.code(), Some(5), "verification failed");
    let report = json(&broken.stdout);
    assert_eq!(report["green"]["version"], "1");
    assert_eq!(report["green"]["moved"], "unchanged");

    // Version 2 exists now, unverified, whatever an earlier stack tagged.
    let history = stack.ok(&["history"]).await;
    let two = history["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["version"] == 2)
        .expect("version 2 is published");
    assert_eq!(two["verified"], false, "{history}");
    let one = history["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["version"] == 1)
        .expect("version 1 is published");
    assert_eq!(one["verified"], true, "green's version: {history}");

    // Rolling back to it verifies it on blue first; that fails and green stays on 1.
    let rollback = stack.xtask(&["rollback", "--to", "2"]).await;
    assert_eq!(rollback.status.code(), Some(5));
    let stderr = String::from_utf8_lossy(&rollback.stderr);
    assert!(stderr.contains("not verified"), "{stderr}");
    assert!(
        stderr.contains("green serves version 1") && stderr.contains("unchanged by this run"),
        "{stderr}"
    );
    assert_eq!(alias_version(&stack.status().await, "green"), "1");
    let (status, served) = version_at(&green_url, None).await;
    assert_eq!((status, served["version"].as_str()), (200, Some("1")));
}

#[tokio::test(flavor = "multi_thread")]
async fn smoke_checks_send_their_method_and_body_and_a_failing_one_stops_green() {
    let (image_a, image_b) = images();
    let stack = Stack::new("smoke-post");
    stack.ok(&["deploy", "--image", path(image_a)]).await;
    // The app answers 400 to a body without `name`: the check expects 200 and fails.
    let toml = std::fs::read_to_string(&stack.deploy_toml).unwrap();
    std::fs::write(
        &stack.deploy_toml,
        toml.replace("name = \"Ada\"", "nom = \"Ada\""),
    )
    .unwrap();
    let output = stack.xtask(&["deploy", "--image", path(image_b)]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains("POST /greet answers 200") && stderr.contains("expected 200, got 400"),
        "{stderr}"
    );
    assert_eq!(json(&output.stdout)["green"]["version"], "1");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kept_blue_is_named_as_such_and_unpin_on_an_already_deployed_build_unpins() {
    let (image_a, image_b) = images();
    let stack = Stack::new("kept-blue");
    stack.ok(&["deploy", "--image", path(image_a)]).await;
    stack
        .ok(&["deploy", "--image", path(image_b), "--keep-blue"])
        .await;
    let refused = stack.xtask(&["rollback", "--to", "1"]).await;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(4), "lock held: {stderr}");
    assert!(
        stderr.contains("kept by `deploy --keep-blue`") && stderr.contains("--break-lock"),
        "{stderr}"
    );
    stack.ok(&["rollback", "--to", "1", "--break-lock"]).await;
    let pinned = stack.xtask(&["deploy", "--image", path(image_a)]).await;
    assert_eq!(pinned.status.code(), Some(6), "pinned");
    // Green already runs image a: --unpin still clears the pin.
    let unpinned = stack
        .ok(&["deploy", "--image", path(image_a), "--unpin"])
        .await;
    assert_eq!(unpinned["outcome"], "already_deployed");
    let status = stack.status().await;
    assert_eq!(
        status["aliases"][0]["promotion"]["pinned"], false,
        "{status}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_first_deploy_is_fixed_by_a_fixed_commit_and_green_never_served_it() {
    let (image_a, _) = images();
    let stack = Stack::new("broken-first");
    // The first deploy provisions version 1 with GREETING missing: blue answers 503.
    stack.configure("OTHER = \"x\"", "hello");
    let broken = stack.xtask(&["deploy", "--image", path(image_a)]).await;
    assert_eq!(broken.status.code(), Some(5), "verification failed");
    let cloud = stack.cloud().await;
    let green =
        bgd_core::pipeline::absent_as_none(cloud.get_alias(&stack.name, "green").await).unwrap();
    assert!(
        green.is_none(),
        "green never points at an unverified version: {green:?}"
    );
    // The fix (here: the configuration) gets out with a plain deploy, no destroy.
    stack.configure("GREETING = \"hello from e2e\"", "hello");
    let fixed = stack.ok(&["deploy", "--image", path(image_a)]).await;
    let version = fixed["green"]["version"].as_str().unwrap().to_owned();
    assert_eq!(version, "2", "{fixed}");
    let url = fixed["green_url"].as_str().unwrap();
    let (status, served) = version_at(url, None).await;
    assert_eq!((status, served["version"].as_str()), (200, Some("2")));
}

/// Sets the stack's front delays: versions idle into Inactive after `idle_ms`.
async fn front_delays(stack: &Stack, idle_ms: u64) {
    let endpoints = LocalCloud::at(stack.local_dir()).endpoints().unwrap();
    let delays = front::Delays {
        idle_ms,
        ..front::Delays::default()
    };
    e2e::local::set_delays(&endpoints.front_url, &delays).await;
}

/// Waits until `qualifier` of the stack's function idled into Inactive.
async fn until_inactive(stack: &Stack, qualifier: &str) {
    let cloud = stack.cloud().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while cloud
        .get_version(&stack.name, qualifier)
        .await
        .unwrap()
        .state
        != VersionState::Inactive
    {
        assert!(
            std::time::Instant::now() < deadline,
            "{qualifier} never went Inactive"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// aws-audit-3 N4: `$LATEST` is never invoked here, so on AWS it idles into Inactive weeks
/// after each deploy, and the next deploy's first poll after its code update failed on
/// Inactive (while LastUpdateStatus was InProgress), every time.
#[tokio::test(flavor = "multi_thread")]
async fn a_deploy_after_latest_went_idle_ships() {
    let (image_a, image_b) = images();
    let stack = Stack::new("idle-latest");
    stack.ok(&["deploy", "--image", path(image_a)]).await;
    front_delays(&stack, 3_000).await;
    until_inactive(&stack, "$LATEST").await;
    let deployed = stack.xtask(&["deploy", "--image", path(image_b)]).await;
    front_delays(&stack, 600_000).await;
    let stderr = String::from_utf8_lossy(&deployed.stderr);
    assert_eq!(deployed.status.code(), Some(0), "{stderr}");
    let report = json(&deployed.stdout);
    assert_eq!(report["version"], 2, "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rollback_to_an_inactive_version_warms_it_on_blue_and_green_never_fails() {
    let (image_a, image_b) = images();
    let stack = Stack::new("inactive-rollback");
    stack.ok(&["deploy", "--image", path(image_a)]).await;
    let second = stack.ok(&["deploy", "--image", path(image_b)]).await;
    let green_url = second["green_url"].as_str().unwrap().to_owned();
    // Version 1 idles into Inactive; clients keep version 2 (green) busy meanwhile.
    let prober = Prober::start(&green_url, 2, Duration::from_millis(50));
    front_delays(&stack, 2_500).await;
    until_inactive(&stack, "1").await;
    let rollback = stack.xtask(&["rollback", "--to", "1"]).await;
    let stderr = String::from_utf8_lossy(&rollback.stderr);
    assert_eq!(rollback.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("warming and verifying it on blue"),
        "{stderr}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let seen = prober.stop().await;
    front_delays(&stack, 600_000).await;
    let failures = prober::failures(&seen);
    assert!(failures.is_empty(), "green failed requests: {failures:?}");
    let versions = prober::versions(&seen);
    assert!(
        versions.contains("1") && versions.contains("2"),
        "{versions:?}"
    );
    eprintln!(
        "inactive rollback: {} requests on green, 0 failed",
        seen.iter().map(Vec::len).sum::<usize>()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unset_variable_stops_the_deploy_before_any_build() {
    let stack = Stack::new("unset-var");
    stack.configure("GREETING = \"${BGD_E2E_SURELY_UNSET}\"", "hello");
    let output = stack.xtask(&["deploy", "--build-id", "never-built"]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("${BGD_E2E_SURELY_UNSET}")
            && stderr.contains("export BGD_E2E_SURELY_UNSET"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("==> build"),
        "checked before building: {stderr}"
    );
}
