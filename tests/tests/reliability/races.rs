//! Runs that race: two deploys started together, and a rollback driven into each point of a
//! deploy (the tests' pause hook). The lock (stage blue, created atomically) lets one deploy
//! through; green's guarded promotion and the pin keep a rollback and a deploy from
//! overwriting each other.
use std::{process::Output, time::Duration};

use e2e::stack::{Stack, images, path};
use serde_json::Value;
use tokio::time::Instant;

use super::{blue_stage_exists, green};

#[tokio::test(flavor = "multi_thread")]
async fn two_deploys_started_together_one_proceeds_and_the_other_names_the_holder() {
    let (image_a, image_b) = images();
    let stack = Stack::new("race-deploys");
    stack.ok(&["deploy", "--image", path(image_a)]).await;
    let cloud = stack.cloud().await;
    let rounds = 3;
    for (round, image) in [image_b, image_a, image_b].into_iter().enumerate() {
        let args = ["deploy", "--image", path(image)];
        let (one, two) = tokio::join!(stack.xtask(&args), stack.xtask(&args));
        let (won, lost) = match (one.status.success(), two.status.success()) {
            (true, false) => (one, two),
            (false, true) => (two, one),
            (a, b) => panic!("round {round}: exactly one deploy proceeds, not {a} and {b}"),
        };
        let why = String::from_utf8_lossy(&lost.stderr);
        assert!(
            why.contains("another deploy holds the lock") && why.contains("held by"),
            "round {round}: the loser names the holder: {why}"
        );
        let report: Value = serde_json::from_slice(&won.stdout).unwrap();
        assert_eq!(report["outcome"], "deployed");
        assert_eq!(
            green(&stack, &cloud).await.version,
            report["version"].to_string()
        );
        assert!(!blue_stage_exists(&stack, &cloud).await);
    }
    eprintln!("races run: {rounds} deploy pairs, interleavings seen: 0");
}

/// A deploy of `image` paused as `phase` starts (the tests' fault hook), `meanwhile` run at
/// exactly that point, then the deploy resumed: both outputs.
async fn deploy_paused_at(
    stack: &Stack,
    image: &str,
    phase: &str,
    meanwhile: &[&str],
) -> (Output, Output) {
    let resume = stack.dir.join(format!("resume-{phase}"));
    let paused = stack.dir.join(format!("resume-{phase}.paused"));
    let _ = std::fs::remove_file(&resume);
    let _ = std::fs::remove_file(&paused);
    let resume_path = resume.to_str().unwrap();
    let env = [
        ("BGD_FAULT_PAUSE_AT", phase),
        ("BGD_FAULT_RESUME_FILE", resume_path),
    ];
    let args = ["deploy", "--image", image];
    let deploy = stack.xtask_with(&args, &env);
    let other = async {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !paused.exists() {
            assert!(
                Instant::now() < deadline,
                "the deploy never reached {phase}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let output = stack.xtask(meanwhile).await;
        std::fs::write(&resume, "").unwrap();
        output
    };
    tokio::join!(deploy, other)
}

/// Each way a rollback and a deploy can meet, driven in turn: the rollback after the deploy
/// read green but before it took the lock (the deploy's promotion, guarded by the RevisionId
/// it read, is refused), while the deploy holds the lock (the rollback is refused), and before
/// the deploy starts (the deploy is refused by the pin). Every branch is hit, every time.
#[tokio::test(flavor = "multi_thread")]
async fn each_interleaving_of_a_rollback_and_a_deploy_takes_its_own_guard() {
    let (image_a, image_b) = images();
    let stack = Stack::new("race-rollback");
    let first = stack.ok(&["deploy", "--image", path(image_a)]).await;
    let cloud = stack.cloud().await;
    let target = first["version"].to_string();
    let rollback = ["rollback", "--to", target.as_str()];
    let pinned = async || stack.status().await["aliases"][0]["promotion"]["pinned"] == true;

    // 1. Between the deploy's read of green (preflight) and its promotion: the RevisionId guard.
    stack.ok(&["deploy", "--image", path(image_b)]).await;
    let moved_from = green(&stack, &cloud).await.version;
    let (deployed, rolled) = deploy_paused_at(&stack, path(image_a), "build", &rollback).await;
    assert!(rolled.status.success(), "the rollback went through");
    let why = String::from_utf8_lossy(&deployed.stderr);
    assert_eq!(deployed.status.code(), Some(1), "{why}");
    assert!(
        why.contains("green moved since this run read it"),
        "the RevisionId branch: {why}"
    );
    assert_ne!(moved_from, target);
    assert_eq!(
        green(&stack, &cloud).await.version,
        target,
        "the rollback stands"
    );
    assert!(pinned().await);
    assert!(!blue_stage_exists(&stack, &cloud).await);

    // 2. While the deploy holds the lock: the rollback is refused, the deploy promotes.
    stack.ok(&["unpin"]).await;
    stack.ok(&["deploy", "--image", path(image_b)]).await;
    let (deployed, rolled) = deploy_paused_at(&stack, path(image_a), "push", &rollback).await;
    let why = String::from_utf8_lossy(&rolled.stderr);
    assert_eq!(rolled.status.code(), Some(4), "the lock branch: {why}");
    assert!(why.contains("holds the lock"), "{why}");
    assert!(deployed.status.success());
    let report: Value = serde_json::from_slice(&deployed.stdout).unwrap();
    assert_eq!(
        green(&stack, &cloud).await.version,
        report["version"].to_string()
    );
    assert!(!pinned().await);
    assert!(!blue_stage_exists(&stack, &cloud).await);

    // 3. The rollback first: the deploy after it is refused by the pin.
    stack.ok(&rollback).await;
    let refused = stack.xtask(&["deploy", "--image", path(image_b)]).await;
    let why = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(6), "the pin branch: {why}");
    assert_eq!(green(&stack, &cloud).await.version, target);
    eprintln!("interleavings driven: 3, each guard hit once: RevisionId, lock, pin");
}
