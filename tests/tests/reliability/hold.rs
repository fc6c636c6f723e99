//! The human gate: `deploy --hold` stops with blue verified and the lock held; `promote` moves
//! green to exactly that version, refusing when green moved since or the hold expired; `abort`
//! removes blue and leaves green; a deploy meanwhile is refused, naming the hold.
use std::time::{Duration, Instant};

use e2e::stack::{Stack, alias_version, images, path, stage, version_at};
use xtask::cloud::{AliasTarget, Functions};

use super::green;

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
    stack.ok(&["abort"]).await;

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
