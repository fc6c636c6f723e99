//! The fault hooks belong to the tests: the shipped xtask ignores them and says so; the tests'
//! armed build (`xtask-faults`) honours them.
use std::os::unix::process::ExitStatusExt;

use bgd_core::{hooks::FAIL_OPERATION, hooks::KILL_AT};
use e2e::stack::{Stack, images, path};

#[tokio::test(flavor = "multi_thread")]
async fn the_shipped_xtask_ignores_fault_hooks_and_the_tests_build_honours_them() {
    let (image_a, image_b) = images();
    let stack = Stack::new("fault-hooks");
    stack.ok(&["deploy", "--image", path(image_a)]).await;

    let mut shipped = stack.command(&["deploy", "--image", path(image_b)]);
    shipped
        .env(KILL_AT, "preflight")
        .env(FAIL_OPERATION, "UpdateFunctionCode");
    let shipped = shipped.output().await.unwrap();
    let stderr = String::from_utf8_lossy(&shipped.stderr);
    assert!(shipped.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&shipped.stdout).unwrap();
    assert_eq!(report["outcome"], "deployed", "{report}");
    for name in [KILL_AT, FAIL_OPERATION] {
        assert!(
            stderr.contains(&format!("warning: {name} is ignored")),
            "{stderr}"
        );
    }

    let armed = stack
        .xtask_with(
            &["deploy", "--image", path(image_a)],
            &[(KILL_AT, "preflight")],
        )
        .await;
    assert_eq!(armed.status.signal(), Some(9), "{armed:?}");
}
