//! What `--timeout` bounds: the run's work with the cloud, not the build before it.
use std::time::Duration;

use e2e::stack::{Stack, images, path};

/// A deploy from source whose build outlasts `--timeout` still ships: the deadline starts once
/// the image is built. It started before the build, so a first local build (minutes) left the
/// locked work no time at all (aws-audit-3 #17). The build is held past the timeout by the
/// tests' pause hook, as a slow build would be.
#[tokio::test(flavor = "multi_thread")]
async fn the_build_does_not_count_against_the_timeout() {
    let (image_a, _) = images();
    let stack = Stack::new("deadline");
    stack.ok(&["deploy", "--image", path(image_a)]).await;
    let timeout = 10;
    let args = ["deploy", "--timeout", "10", "--build-id", "slow"];
    let (deployed, ()) = stack
        .paused_while(
            &args,
            "build",
            tokio::time::sleep(Duration::from_secs(timeout + 2)),
        )
        .await;
    let stderr = String::from_utf8_lossy(&deployed.stderr);
    assert!(deployed.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&deployed.stdout).unwrap();
    assert_eq!(report["outcome"], "deployed", "{report}");
}
