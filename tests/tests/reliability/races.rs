//! Runs that race: two deploys started together, and a rollback driven into each point of a
//! deploy (the tests' pause hook). The lock (stage blue, created atomically) lets one deploy
//! through; green's guarded promotion and the pin keep a rollback and a deploy from
//! overwriting each other.

use e2e::stack::{Stack, images, path};
use serde_json::Value;

use super::{blue_stage_exists, green};

#[tokio::test(flavor = "multi_thread")]
async fn two_deploys_started_together_one_proceeds_and_the_other_names_the_holder() {
    let (image_a, image_b) = images();
    let stack = Stack::new("race-deploys");
    stack.ok(&["deploy", "--image", path(image_a)]).await;
    let cloud = stack.cloud().await;
    let rounds = 3;
    let mut first_won = 0;
    for (round, image) in [image_b, image_a, image_b].into_iter().enumerate() {
        let args = ["deploy", "--image", path(image)];
        let (one, two) = tokio::join!(stack.xtask(&args), stack.xtask(&args));
        let (won, lost) = match (one.status.success(), two.status.success()) {
            (true, false) => {
                first_won += 1;
                (one, two)
            }
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
    // Which of the two took the lock, as observed (a hard-coded "interleavings seen: 0" was
    // printed here before: security-audit-3, weak test 6).
    eprintln!("races run: {rounds} deploy pairs; the first-started won {first_won}");
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
    let (deployed, rolled) = stack
        .paused_at(&["deploy", "--image", path(image_a)], "build", &rollback)
        .await;
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
    let (deployed, rolled) = stack
        .paused_at(&["deploy", "--image", path(image_a)], "push", &rollback)
        .await;
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

/// Two rollbacks to one version at once (adversarial-3, critical 1): the second, paused as it
/// was about to promote, finds green moved there by the first, and its guarded write is
/// refused. It wrote nothing, so it says someone else moved green and exits 1. Before, it
/// judged by the version green ended on: exit 3, "this run moved it", and `rollback --to`
/// the bad version as the way back.
#[tokio::test(flavor = "multi_thread")]
async fn the_loser_of_two_rollbacks_to_one_version_says_it_moved_nothing() {
    let (image_a, image_b) = images();
    let stack = Stack::new("race-rollbacks");
    let good = stack.ok(&["deploy", "--image", path(image_a)]).await;
    let bad = stack.ok(&["deploy", "--image", path(image_b)]).await;
    let (good, bad) = (good["version"].to_string(), bad["version"].to_string());
    let rollback = ["rollback", "--to", good.as_str()];
    let (loser, winner) = stack.paused_at(&rollback, "promote", &rollback).await;
    assert!(winner.status.success(), "the first rollback went through");
    let why = String::from_utf8_lossy(&loser.stderr);
    assert_eq!(loser.status.code(), Some(1), "{why}");
    assert!(why.contains("green moved since this run read it"), "{why}");
    assert!(
        !why.contains(&format!("rollback --to {bad}")) && !why.contains("this run moved it"),
        "the loser points nobody back at the bad version: {why}"
    );
    let report: Value = serde_json::from_slice(&loser.stdout).unwrap();
    assert_eq!(report["green"]["moved"], "by_someone_else", "{report}");
    assert_eq!(report["green"]["version"], good.as_str());
    assert_eq!(report["green"]["before"], bad.as_str());
    let cloud = stack.cloud().await;
    assert_eq!(green(&stack, &cloud).await.version, good);
}
