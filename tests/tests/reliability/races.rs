//! Runs that race: two deploys started together, a rollback started while a deploy runs. The
//! lock (stage blue, created atomically) lets one through; green's guarded promotion keeps a
//! rollback and a deploy from overwriting each other. Never interleaved.
use std::time::Duration;

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

#[tokio::test(flavor = "multi_thread")]
async fn a_rollback_during_a_deploy_is_refused_or_serialized_never_interleaved() {
    let (image_a, image_b) = images();
    let stack = Stack::new("race-rollback");
    let first = stack.ok(&["deploy", "--image", path(image_a)]).await;
    let cloud = stack.cloud().await;
    let target = first["version"].to_string();
    let mut refused = 0;
    let delays = [0, 100, 200, 300, 400, 600, 800, 1200];
    for (round, delay) in delays.into_iter().enumerate() {
        // Each round starts unpinned with green on another version than the rollback target.
        stack.ok(&["unpin"]).await;
        stack.ok(&["deploy", "--image", path(image_b)]).await;
        let deploy_args = ["deploy", "--image", path(image_a)];
        let rollback_args = ["rollback", "--to", &target];
        let (deployed, rolled) = tokio::join!(stack.xtask(&deploy_args), async {
            tokio::time::sleep(Duration::from_millis(delay)).await;
            stack.xtask(&rollback_args).await
        });
        let after = green(&stack, &cloud).await.version;
        let status = stack.status().await;
        let pinned = status["aliases"][0]["promotion"]["pinned"] == true;
        let rollback_why = String::from_utf8_lossy(&rolled.stderr);
        match (deployed.status.success(), rolled.status.success()) {
            // The deploy won the lock; the rollback said who held it.
            (true, false) => {
                assert!(rollback_why.contains("holds the lock"), "{rollback_why}");
                let report: Value = serde_json::from_slice(&deployed.stdout).unwrap();
                assert_eq!(after, report["version"].to_string(), "round {round}");
                refused += 1;
            }
            // The rollback came first or last: green ends on its target, pinned.
            (deploy_ok, true) => {
                let deploy_why = String::from_utf8_lossy(&deployed.stderr);
                assert!(
                    deploy_ok
                        || deploy_why.contains("pinned")
                        || deploy_why.contains("green moved"),
                    "round {round}: {deploy_why}"
                );
                assert_eq!(
                    after, target,
                    "round {round}: interleaved, the rollback was lost"
                );
                assert!(pinned, "round {round}: the rollback's pin was lost");
            }
            (false, false) => panic!("round {round}: both failed: {rollback_why}"),
        }
        assert!(!blue_stage_exists(&stack, &cloud).await);
    }
    eprintln!(
        "races run: {} deploy/rollback pairs, rollbacks refused: {refused}, interleavings seen: 0",
        delays.len()
    );
}
