//! The human gate: `deploy --hold` stops with blue verified and the lock held; `promote` moves
//! green to exactly that version, refusing when green moved since or the hold expired; `abort`
//! removes blue and leaves green; a deploy meanwhile is refused, naming the hold. A promote
//! rolls out as the held deploy would have, rolls back by itself, and ends the hold either way.
use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use bgd_core::cloud::{AliasTarget, Functions};
use e2e::{
    prober::{self, Prober},
    stack::{Stack, alias_version, images, path, stage, version_at},
};

use super::{
    blue_stage_exists, green,
    rollout::{fail_on_green, green_target},
};

#[tokio::test(flavor = "multi_thread")]
async fn a_held_deploy_is_promoted_exactly_or_aborted_and_refusals_say_why() {
    let (image_a, image_b) = images();
    let stack = Stack::new("hold");
    stack.ok(&["deploy", "--image", path(image_a)]).await;
    let cloud = stack.cloud().await;

    let started = Instant::now();
    let held = stack
        .ok(&["deploy", "--image", path(image_b), "--hold"])
        .await;
    let hold_wall = started.elapsed();
    assert_eq!(held["outcome"], "held");
    assert_eq!(held["held"], 2);
    assert_eq!(held["green"]["version"], "1");
    assert_eq!(held["green"]["moved"], "unchanged");
    let status = stack.ok(&["status", "--show-token"]).await;
    let blue = stage(&status, "blue").expect("blue stays while held");
    assert!(blue["lock"]["hold"].is_object(), "{status}");
    let token = blue["variables"]["verify_token"].as_str().unwrap();
    let (code, report) = version_at(blue["url"].as_str().unwrap(), Some(token)).await;
    assert_eq!((code, report["version"].as_str()), (200, Some("2")));

    // A deploy while the hold stands is refused, naming what ends it.
    let refused = stack.xtask(&["deploy", "--image", path(image_b)]).await;
    assert_eq!(refused.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("promote or abort it first"));

    // Plans that cannot finish before the run ends are refused before anything is written:
    // 9 steps of 2 minutes for promote (the hold stays), 30 minutes and the deploy's own
    // phases for a deploy (before its build and its lock).
    let long = ["promote", "--strategy", "linear:10:2m", "--timeout", "900"];
    let refused = stack.xtask(&long).await;
    let why = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{why}");
    assert!(
        why.contains("watches for 18m") && why.contains("--timeout 1080 or more"),
        "{why}"
    );
    assert!(
        stage(&stack.status().await, "blue").is_some(),
        "the hold stays"
    );
    let long = [
        "deploy",
        "--image",
        path(image_a),
        "--strategy",
        "canary:10:30m",
    ];
    let refused = stack.xtask(&long).await;
    let why = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{why}");
    assert!(
        why.contains("--timeout 1980 or more") && why.contains("nothing was changed"),
        "{why}"
    );

    let started = Instant::now();
    let promoted = stack.ok(&["promote"]).await;
    let promote_wall = started.elapsed();
    assert_eq!(promoted["outcome"], "deployed");
    assert_eq!(promoted["version"], 2);
    assert_eq!(promoted["green"]["moved"], "by_this_run");
    assert_eq!(alias_version(&stack.status().await, "green"), "2");
    assert!(stage(&stack.status().await, "blue").is_none());

    // Abort: blue goes, green stays.
    stack
        .ok(&["deploy", "--image", path(image_a), "--hold"])
        .await;
    let aborted = stack.ok(&["abort"]).await;
    assert!(
        aborted["message"]
            .as_str()
            .unwrap()
            .contains("green unchanged")
    );
    assert_eq!(green(&stack, &cloud).await.version, "2");
    let nothing = stack.xtask(&["promote"]).await;
    assert_eq!(nothing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&nothing.stderr).contains("no deploy is held"));

    // Green moved since the hold: promote refuses and green stays where it was moved.
    stack
        .ok(&["deploy", "--image", path(image_a), "--hold"])
        .await;
    cloud
        .update_alias(&stack.name, "green", &AliasTarget::version("1"), None, None)
        .await
        .unwrap();
    let moved = stack.xtask(&["promote"]).await;
    assert_eq!(moved.status.code(), Some(1), "green unchanged by this run");
    assert!(String::from_utf8_lossy(&moved.stderr).contains("green moved since"));
    assert_eq!(green(&stack, &cloud).await.version, "1");
    assert!(
        !blue_stage_exists(&stack, &cloud).await,
        "a promote that failed ends the hold, as a failed deploy releases its lock"
    );

    // A hold past its time cannot be promoted.
    stack
        .ok(&[
            "deploy",
            "--image",
            path(image_b),
            "--hold",
            "--hold-minutes",
            "0",
        ])
        .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let expired = stack.xtask(&["promote"]).await;
    assert_eq!(expired.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&expired.stderr).contains("the hold expired"));
    assert_eq!(green(&stack, &cloud).await.version, "1");

    let plain = stack
        .ok(&["deploy", "--image", path(image_b), "--break-lock"])
        .await;
    eprintln!(
        "hold figures: deploy --hold {:.2} s ({} writes), promote {:.2} s ({} writes), plain deploy {} writes",
        hold_wall.as_secs_f64(),
        held["write_calls"],
        promote_wall.as_secs_f64(),
        promoted["write_calls"],
        plain["write_calls"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn promote_rolls_out_as_the_held_deploy_would_have_and_rolls_back_by_itself() {
    let (image_a, image_b) = images();
    let stack = Stack::new("hold-rollout");
    let first = stack.ok(&["deploy", "--image", path(image_a)]).await;
    let old = first["version"].to_string();
    let bad = (first["version"].as_u64().unwrap() + 1).to_string();
    let cloud = stack.cloud().await;
    // Half of the held version's invocations through green fail; blue never sees it.
    fail_on_green(&stack, &bad, 0.5).await;
    let clients = Prober::start(
        first["green_url"].as_str().unwrap(),
        4,
        Duration::from_millis(20),
    );

    // The hold keeps deploy's --strategy: promote shifts a canary, sees it fail, reverts.
    let args = [
        "deploy",
        "--image",
        path(image_b),
        "--hold",
        "--strategy",
        "canary:20:45s",
    ];
    let held = stack.ok(&args).await;
    assert_eq!(held["held"].to_string(), bad);
    let started = Instant::now();
    let promoted = stack.xtask(&["promote"]).await;
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&promoted.stderr);
    assert_eq!(promoted.status.code(), Some(7), "rolled back: {stderr}");
    assert!(
        stderr.contains("rolled back") && stderr.contains("canary:20:45s"),
        "{stderr}"
    );
    assert!(
        took < Duration::from_secs(40),
        "the canary step was cut short: {took:?}"
    );
    assert_eq!(
        green_target(&stack, &cloud).await,
        (old.clone(), BTreeMap::new())
    );
    assert!(!blue_stage_exists(&stack, &cloud).await, "the hold ended");
    let refused = stack.refused(&["rollback", "--to", &bad]).await;
    assert!(refused.contains("--force"), "recorded as failed: {refused}");
    fail_on_green(&stack, &bad, 0.0).await;

    // Promote's own --strategy and --bake win over the hold's. Image b is recorded as failed
    // now: only --force ships it again.
    let again = stack
        .refused(&["deploy", "--image", path(image_b), "--hold"])
        .await;
    assert!(again.contains("--force"), "{again}");
    let held = stack
        .ok(&["deploy", "--image", path(image_b), "--hold", "--force"])
        .await;
    let good = held["held"].to_string();
    let args = ["promote", "--strategy", "canary:50:2s", "--bake", "1s"];
    let started = Instant::now();
    let promoted = stack.ok(&args).await;
    let wall = started.elapsed();
    assert_eq!(promoted["outcome"], "deployed");
    assert_eq!(promoted["rollout"]["strategy"], "canary:50:2s");
    assert!(promoted["rollout"]["breach"].is_null(), "{promoted}");
    assert!(
        wall >= Duration::from_secs(3),
        "the shift and bake were held: {wall:?}"
    );
    assert_eq!(green_target(&stack, &cloud).await, (good, BTreeMap::new()));
    assert!(!blue_stage_exists(&stack, &cloud).await);
    let seen = clients.stop().await;
    let failed = prober::failures(&seen);
    let sent: usize = seen.iter().map(Vec::len).sum();
    assert!(
        failed.len() * 5 <= sent,
        "{} of {sent} requests failed: over the canary's 20%",
        failed.len()
    );
    eprintln!(
        "held canary: promote rolled back after {:.1}s; healthy promote canary:50:2s + bake 1s {:.1}s; {} of {sent} requests failed",
        took.as_secs_f64(),
        wall.as_secs_f64(),
        failed.len()
    );
}

/// A running promote owns the hold (adversarial-3 #5, m7; security-audit-3 N1): an `abort`
/// while its canary runs is refused, naming the promote, and the promote goes on under a lock
/// of its own. Before, abort removed the lock under it ("green unchanged", exit 0) while the
/// promote carried green to the new version with no lock at all.
#[tokio::test(flavor = "multi_thread")]
async fn an_abort_during_a_promote_is_refused_and_the_promote_keeps_its_lock() {
    let (image_a, image_b) = images();
    let stack = Stack::new("hold-abort-race");
    stack.ok(&["deploy", "--image", path(image_a)]).await;
    let held = stack
        .ok(&["deploy", "--image", path(image_b), "--hold"])
        .await;
    let promote = ["promote", "--strategy", "canary:50:2s"];
    let (promoted, aborted) = stack.paused_at(&promote, "shift", &["abort"]).await;
    let why = String::from_utf8_lossy(&aborted.stderr);
    assert_eq!(aborted.status.code(), Some(4), "{why}");
    assert!(why.contains("being promoted"), "{why}");
    let said = String::from_utf8_lossy(&promoted.stderr);
    assert!(promoted.status.success(), "{said}");
    assert_eq!(
        alias_version(&stack.status().await, "green"),
        held["held"].to_string()
    );
    let cloud = stack.cloud().await;
    assert!(
        !blue_stage_exists(&stack, &cloud).await,
        "the promote's lock is gone"
    );
}
