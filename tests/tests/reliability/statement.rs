//! Every run ends with a true statement of what green serves and whether the run moved it, and
//! an exit code a CI script can branch on: a cleanup failure after promote is a warning, a
//! failure after green moved exits 3 and names the way back, Ctrl-C during promote tells truly.
use std::{process::Stdio, time::Duration};

use bgd_core::{cloud::Apis, hooks::FAIL_OPERATION};
use bgd_local::{Component, LocalCloud};
use e2e::{
    process::{kill, pid_of},
    stack::{Stack, images, path},
};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::green;

fn json(stdout: &[u8]) -> Value {
    serde_json::from_slice(stdout).expect("--json prints a result, on failure too")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cleanup_failure_after_promote_is_a_warning_on_a_successful_deploy() {
    let (image_a, image_b) = images();
    let stack = Stack::new("cleanup-fails");
    stack.ok(&["deploy", "--image", path(image_a)]).await;
    let output = stack
        .xtask_with(
            &["deploy", "--image", path(image_b)],
            &[(FAIL_OPERATION, "DeleteStage")],
        )
        .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let report = json(&output.stdout);
    assert_eq!(report["outcome"], "deployed");
    assert_eq!(report["green"]["moved"], "by_this_run");
    assert_eq!(report["green"]["version"], report["version"].to_string());
    assert!(
        stderr.contains("could not be removed") && stderr.contains("--break-lock"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("needs apigateway"),
        "not a permission error: {stderr}"
    );

    // A verification failure stays the failure reported when cleanup fails too.
    let cloud = stack.cloud().await;
    let api = cloud.find_rest_api(&stack.name).await.unwrap();
    cloud.delete_stage(&api.id, "blue").await.unwrap();
    stack.configure("OTHER = \"x\"", "hello");
    let broken = stack
        .xtask_with(
            &["deploy", "--image", path(image_a)],
            &[(FAIL_OPERATION, "DeleteStage")],
        )
        .await;
    let stderr = String::from_utf8_lossy(&broken.stderr);
    assert_eq!(broken.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("check failed: GET /health"), "{stderr}");
}

/// Runs `args`, and when a stderr line equals `line` does `then` while the run goes on.
async fn when_line(
    stack: &Stack,
    args: &[&str],
    line: &str,
    then: impl FnOnce(u32),
) -> std::process::Output {
    let mut child = stack
        .command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let mut then = Some(then);
    while let Some(l) = lines.next_line().await.unwrap() {
        if l == line
            && let Some(then) = then.take()
        {
            then(pid);
        }
        seen.push(l);
    }
    let mut output = child.wait_with_output().await.unwrap();
    output.stderr = seen.join("\n").into_bytes();
    eprintln!(
        "$ cargo xtask {args:?} → {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failure_after_green_moved_says_so_and_exits_3() {
    let (image_a, image_b) = images();
    let stack = Stack::new("moved-then-failed");
    let first = stack.ok(&["deploy", "--image", path(image_a)]).await;
    let before = first["version"].to_string();
    let local = LocalCloud::at(stack.local_dir());
    let gateway = pid_of(&local, Component::Gateway).await;
    // The gateway dies as promote starts: the alias moves (moto), green's probe fails.
    let output = when_line(
        &stack,
        &["deploy", "--image", path(image_b), "--timeout", "10"],
        "==> promote",
        |_| kill(gateway, libc::SIGKILL),
    )
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    let cloud = stack.cloud().await;
    let now = green(&stack, &cloud).await.version;
    assert_ne!(now, before);
    assert!(
        stderr.contains(&format!("green serves version {now}"))
            && stderr.contains(&format!("this run moved it from version {before}"))
            && stderr.contains(&format!("cargo xtask rollback --to {before}")),
        "{stderr}"
    );
    let report = json(&output.stdout);
    assert_eq!(report["outcome"], "failed");
    assert_eq!(report["exit_code"], 3);
    assert_eq!(report["green"]["moved"], "by_this_run");
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_during_promote_states_truly_whether_green_moved() {
    let (image_a, image_b) = images();
    let stack = Stack::new("ctrl-c-promote");
    let first = stack.ok(&["deploy", "--image", path(image_a)]).await;
    let cloud = stack.cloud().await;
    let mut outcomes = Vec::new();
    let mut interruptions = 0;
    let mut next = image_b;
    // Two rounds, the interrupt a little later in the second, so both outcomes can occur.
    for (round, delay) in [0, 20].into_iter().enumerate() {
        let image = next;
        let before = green(&stack, &cloud).await.version;
        let output = when_line(
            &stack,
            &["deploy", "--image", path(image)],
            "==> promote",
            move |pid| {
                std::thread::sleep(Duration::from_millis(delay));
                kill(pid, libc::SIGINT);
            },
        )
        .await;
        let after = green(&stack, &cloud).await.version;
        let report = json(&output.stdout);
        let moved = after != before;
        assert_eq!(report["green"]["version"], after, "round {round}");
        // A failure here is the interrupt's, nothing else's.
        let stderr = String::from_utf8_lossy(&output.stderr);
        let interrupted = stderr.contains("interrupted (SIGINT)");
        assert_eq!(
            interrupted,
            output.status.code() != Some(0),
            "round {round}: {stderr}"
        );
        interruptions += usize::from(interrupted);
        match output.status.code() {
            Some(0) => assert!(moved, "round {round}: a success moved green"),
            Some(3) => {
                assert!(moved, "round {round}: exit 3 only when green moved");
                // Interrupted while the write was in flight, the run has no answer: green is
                // where it asked, but only an answered write is surely its own.
                let said = report["green"]["moved"].as_str().unwrap_or_default();
                assert!(
                    matches!(said, "by_this_run" | "unknown"),
                    "round {round}: {said}"
                );
            }
            Some(1) => {
                assert!(!moved, "round {round}: exit 1 means green unchanged");
                assert_eq!(report["green"]["moved"], "unchanged");
            }
            other => panic!("round {round}: exit {other:?}"),
        }
        outcomes.push(moved);
        // The next round ships the image green does not serve.
        if moved {
            next = if image == image_b { image_a } else { image_b };
        }
    }
    assert!(first["version"].is_u64());
    // A SIGINT that lands after the run's work is ignored and both rounds exit 0: then the
    // test saw no interrupt at all (security-audit-3 weak test 5).
    assert!(interruptions > 0, "no round was interrupted: {outcomes:?}");
    eprintln!(
        "ctrl-c during promote: green moved in rounds {outcomes:?}, {interruptions} interrupted"
    );
}
