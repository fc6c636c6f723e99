//! Progressive delivery end to end: clients hit green through the local gateway while a
//! canary shifts it. A healthy canary completes with no failed request; a candidate that
//! passes blue and fails part of real traffic (errors injected into it through green, as AWS
//! FIS does) is rolled back by itself, its failures stay within its share, the old version
//! fails nothing, and it is not shipped again without --force. Rollouts killed midway:
//! `rollout_kills.rs`.
use std::{collections::BTreeMap, time::Duration};

use bgd_aws::{OciRegistry, SdkCloud};
use bgd_core::{
    cloud::Functions,
    health::{Counts, Traffic},
    image::Registry,
    ledger,
};
use bgd_local::{FAULTS_PATH, LocalCloud};
use e2e::{
    prober::{self, Prober},
    stack::{Stack, images, path},
};
use tokio::time::Instant;

const CLIENTS: usize = 4;

pub(super) fn gateway_url(stack: &Stack) -> String {
    LocalCloud::at(stack.local_dir())
        .endpoints()
        .unwrap()
        .gateway_url
}

/// Clients on green, as `deploy` (its `--json` report) named it, each a request per 20 ms.
pub(super) fn clients_on(deployed: &serde_json::Value) -> Prober {
    let green = deployed["green_url"].as_str().unwrap();
    Prober::start(green, CLIENTS, Duration::from_millis(20))
}

/// Makes `share` of `version`'s invocations through green fail on the local data plane (as
/// AWS FIS's invocation-error action does): a candidate that passes blue, another alias, and
/// fails real traffic on green. A share of 0 heals it.
pub(super) async fn fail_on_green(stack: &Stack, version: &str, share: f64) {
    let fault = serde_json::json!({"function": stack.name, "qualifier": "green", "version": version, "share": share});
    let faults = format!("{}{FAULTS_PATH}", gateway_url(stack));
    let injected = bgd_tls::client().post(&faults).json(&fault).send();
    assert_eq!(injected.await.unwrap().status(), 204);
}

/// Green on its first version, the next version set to fail half its invocations through
/// green, and clients on green.
pub(super) struct BadNext {
    pub old: String,
    pub new: String,
    pub clients: Prober,
}

/// Deploys `image` as green's first version and makes the next one fail on green.
pub(super) async fn bad_next(stack: &Stack, image: &std::path::Path) -> BadNext {
    let first = stack.ok(&["deploy", "--image", path(image)]).await;
    let old = first["version"].to_string();
    let new = (first["version"].as_u64().unwrap() + 1).to_string();
    fail_on_green(stack, &new, 0.5).await;
    let clients = clients_on(&first);
    BadNext { old, new, clients }
}

/// Green's routing as the control plane holds it: its version and extra weights.
pub(super) async fn green_target(
    stack: &Stack,
    cloud: &SdkCloud,
) -> (String, BTreeMap<String, f64>) {
    let green = cloud.get_alias(&stack.name, "green").await.unwrap();
    (green.target.version, green.target.additional_weights)
}

/// Green's invocations of `versions` since `since`, as CloudWatch reports the data plane's
/// counts.
pub(super) async fn traffic(
    stack: &Stack,
    versions: &[&str],
    since: std::time::SystemTime,
) -> BTreeMap<String, Counts> {
    let versions: Vec<String> = versions.iter().map(|v| (*v).to_owned()).collect();
    stack
        .cloud()
        .await
        .traffic()
        .by_version(&stack.name, "green", &versions, since)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_healthy_canary_completes_and_not_one_request_fails_during_the_shift_and_bake() {
    let (image_a, image_b) = images();
    let stack = Stack::new("canary-healthy");
    let first = stack.ok(&["deploy", "--image", path(image_a)]).await;
    let old = first["version"].to_string();
    let clients = clients_on(&first);
    let since = std::time::SystemTime::now();
    let started = Instant::now();
    let args = [
        "deploy",
        "--image",
        path(image_b),
        "--strategy",
        "canary:20:5s",
        "--bake",
        "3s",
    ];
    let report = stack.ok(&args).await;
    let wall = started.elapsed();
    let seen = clients.stop().await;
    let new = report["version"].to_string();
    assert_ne!(new, old);
    let cloud = stack.cloud().await;
    assert_eq!(
        green_target(&stack, &cloud).await,
        (new.clone(), BTreeMap::new())
    );
    let failed = prober::failures(&seen);
    assert!(
        failed.is_empty(),
        "{} requests failed: {failed:?}",
        failed.len()
    );
    let versions = prober::versions(&seen);
    assert!(
        versions.contains(&old) && versions.contains(&new),
        "{versions:?}"
    );
    let rollout = &report["rollout"];
    assert_eq!(rollout["strategy"], "canary:20:5s");
    assert_eq!(rollout["probes"][&new]["errors"], 0, "{rollout}");
    assert!(
        rollout["probes"][&new]["invocations"].as_u64().unwrap() > 0,
        "{rollout}"
    );
    assert!(rollout["breach"].is_null(), "{rollout}");
    let counts = traffic(&stack, &[&old, &new], since).await;
    assert_eq!(counts[&old].errors + counts[&new].errors, 0, "{counts:?}");
    assert!(
        wall >= Duration::from_secs(8),
        "the shift and bake were held: {wall:?}"
    );
    let sent: usize = seen.iter().map(Vec::len).sum();
    eprintln!(
        "healthy canary:20:5s + bake 3s: {:.1}s wall for the deploy; {sent} requests, 0 failed; data plane: {counts:?}",
        wall.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_canary_failing_real_traffic_is_rolled_back_by_itself_within_its_share_and_not_shipped_again()
 {
    let (image_a, image_b) = images();
    let stack = Stack::new("canary-bad");
    // Half of the next version's invocations through green fail; blue never sees it.
    let BadNext { old, new, clients } = bad_next(&stack, image_a).await;
    let since = std::time::SystemTime::now();
    let args = [
        "deploy",
        "--image",
        path(image_b),
        "--strategy",
        "canary:20:60s",
    ];
    let started = Instant::now();
    let output = stack.xtask(&args).await;
    let took = started.elapsed();
    let seen = clients.stop().await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(7),
        "exit 7 means rolled back: {stderr}"
    );
    assert!(
        stderr.contains("rolled back") && stderr.contains(&format!("on version {new}")),
        "{stderr}"
    );
    assert!(
        took < Duration::from_secs(55),
        "rolled back before the step ended: {took:?}"
    );
    let cloud = stack.cloud().await;
    assert_eq!(
        green_target(&stack, &cloud).await,
        (old.clone(), BTreeMap::new()),
        "green is back on the old version alone"
    );

    // The failures are the canary's, within its share; the old version failed nothing.
    let counts = traffic(&stack, &[&old, &new], since).await;
    assert_eq!(counts[&old].errors, 0, "{counts:?}");
    assert!(counts[&new].errors > 0, "{counts:?}");
    let sent: usize = seen.iter().map(Vec::len).sum();
    let failures = prober::failures(&seen);
    let failed = failures.len();
    let share = failed as f64 / sent as f64;
    assert!(
        share <= 0.2,
        "{failed} of {sent} requests failed: over the canary's 20%"
    );
    // From the first failed request to the last one the new version got (failed or not): how
    // long users met the bad canary once it failed, the gateway's 1 s alias cache included.
    let first_failure = failures.iter().map(|s| s.sent).min().unwrap();
    let last_on_new = seen
        .iter()
        .flatten()
        .filter(|s| s.version.as_deref() == Some(new.as_str()) || s.status != 200)
        .map(|s| s.sent)
        .max()
        .unwrap();
    let exposed = last_on_new - first_failure;
    assert!(
        exposed < Duration::from_secs(5),
        "the bad canary served for {exposed:?}"
    );
    eprintln!(
        "bad canary:20 (half its requests failing): first failed request to the last one on it {:.2}s; deploy exited 7 after {:.1}s; {failed} of {sent} requests failed ({:.1}%); data plane: {counts:?}; {}",
        exposed.as_secs_f64(),
        took.as_secs_f64(),
        share * 100.0,
        stderr
            .lines()
            .rev()
            .find(|l| l.contains("rolled back"))
            .unwrap_or("")
    );

    // Recorded as failed: that publication is refused again without --force.
    let published = cloud.get_version(&stack.name, &new).await.unwrap();
    let endpoints = LocalCloud::at(stack.local_dir()).endpoints().unwrap();
    let registry = OciRegistry::new(&endpoints.registry_url, None).unwrap();
    let tag = ledger::failed_tag(new.parse().unwrap(), &published.description);
    assert!(
        registry
            .digest_of(&stack.name, &tag)
            .await
            .unwrap()
            .is_some(),
        "no {tag}"
    );
    let refused = stack.refused(&["rollback", "--to", &new]).await;
    assert!(refused.contains("--force"), "{refused}");
    // So is the image: deploying it again would publish it as a new version, which no
    // version's tag names (before, that deploy shipped it as version new + 1 and exited 0).
    let published = cloud.list_versions(&stack.name).await.unwrap().len();
    let again = stack.refused(&["deploy", "--image", path(image_b)]).await;
    assert!(
        again.contains("failed a rollout") && again.contains("--force"),
        "{again}"
    );
    assert_eq!(
        cloud.list_versions(&stack.name).await.unwrap().len(),
        published,
        "the refused deploy published nothing"
    );
    fail_on_green(&stack, &new, 0.0).await;
    let forced = stack.ok(&["rollback", "--to", &new, "--force"]).await;
    assert_eq!(forced["to"].to_string(), new);
}

/// The bake is when the new version serves everyone: a plain `rollback` then aborts the
/// rollout without `--break-lock`, as the README says (adversarial-3 #4: it was refused, exit
/// 4, "wait for it to finish"). The deploy stops at its next guarded write.
#[tokio::test(flavor = "multi_thread")]
async fn a_rollback_during_the_bake_aborts_the_rollout() {
    let (image_a, image_b) = images();
    let stack = Stack::new("rollback-in-bake");
    let old = stack.ok(&["deploy", "--image", path(image_a)]).await["version"].to_string();
    let deploy = ["deploy", "--image", path(image_b), "--bake", "5s"];
    let (deployed, rolled) = stack.paused_at(&deploy, "bake", &["rollback"]).await;
    let why = String::from_utf8_lossy(&rolled.stderr);
    assert_eq!(rolled.status.code(), Some(0), "{why}");
    let rolled: serde_json::Value = serde_json::from_slice(&rolled.stdout).unwrap();
    assert_eq!(rolled["to"].to_string(), old, "{rolled}");
    assert_eq!(rolled["aborted_rollout"], true, "{rolled}");
    assert_eq!(rolled["green"]["moved"], "by_this_run", "{rolled}");
    let cloud = stack.cloud().await;
    assert_eq!(green_target(&stack, &cloud).await, (old, BTreeMap::new()));
    let why = String::from_utf8_lossy(&deployed.stderr);
    assert_ne!(deployed.status.code(), Some(0), "the deploy stopped: {why}");
    assert!(why.contains("a rollback aborted the rollout"), "{why}");
}

/// After a revert in the bake, green's record is what it was before the rollout, so a plain
/// rollback goes where it would have gone (adversarial-3 #6). Before, the revert recorded the
/// failed version as where green came from: a plain rollback targeted it and hinted `--force`,
/// which would have pinned the failed version on green.
#[tokio::test(flavor = "multi_thread")]
async fn a_plain_rollback_after_a_revert_in_the_bake_never_targets_the_failed_version() {
    let (image_a, image_b) = images();
    let stack = Stack::new("revert-in-bake");
    let first = stack.ok(&["deploy", "--image", path(image_a)]).await["version"].to_string();
    let second = stack.ok(&["deploy", "--image", path(image_b)]).await;
    let failing = (second["version"].as_u64().unwrap() + 1).to_string();
    fail_on_green(&stack, &failing, 0.5).await;
    stack.configure("GREETING = \"hello again from e2e\"", "hello");
    let reverted = stack
        .xtask(&["deploy", "--image", path(image_a), "--bake", "20s"])
        .await;
    let why = String::from_utf8_lossy(&reverted.stderr);
    assert_eq!(
        reverted.status.code(),
        Some(7),
        "reverted in the bake: {why}"
    );
    let plan = stack.ok(&["rollback", "--dry-run"]).await;
    assert_eq!(plan["from"], second["version"], "{plan}");
    assert_eq!(plan["to"].to_string(), first, "{plan}");
}
