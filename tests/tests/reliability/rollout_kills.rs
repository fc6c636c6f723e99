//! Rollouts killed midway, end to end, with clients hitting green throughout: killed at any
//! boundary of its shift, promote and bake, a rollout converges on the next run of the same
//! deploy (a split left is carried on from its step, a bake left is resumed); one killed as it
//! reverts is rolled back by the next run, which judges the rollout's traffic from its start;
//! one killed once it reverted leaves its image refused and its lock to the next run. Across
//! several killed processes, with `resume`: `resume.rs`.
use std::{collections::BTreeMap, os::unix::process::ExitStatusExt, time::Duration};

use bgd_core::{
    cloud::{Apis, Functions},
    hooks::KILL_AT,
    ledger,
};
use e2e::{
    prober,
    stack::{Stack, images, path},
};

use super::rollout::{BadNext, bad_next, clients_on, fail_on_green, green_target, traffic};

/// Where green is allowed to be while a rollout from `old` to a new version is killed: on
/// `old` alone, split between `old` and one other version, or on a new version alone.
fn never_half_changed(at: &str, old: &str, (main, weights): &(String, BTreeMap<String, f64>)) {
    let split = main == old && weights.len() == 1 && !weights.contains_key(old);
    assert!(
        weights.is_empty() || split,
        "killed at {at}: green is {main} with {weights:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rollout_killed_at_every_boundary_is_settled_or_resumed_by_the_next_run() {
    let (image_a, image_b) = images();
    let stack = Stack::new("canary-killed");
    let first = stack.ok(&["deploy", "--image", path(image_a)]).await;
    let clients = clients_on(&first);
    let cloud = stack.cloud().await;
    let baking = |description: &str| ledger::Promotion::parse(description).unwrap().baking;
    let boundaries = [
        "shift",
        "shift:end",
        "promote",
        "promote:end",
        "bake",
        "bake:end",
    ];
    let mut next = [image_b, image_a].into_iter().cycle();
    for at in boundaries {
        let old = green_target(&stack, &cloud).await.0;
        let args = [
            "deploy",
            "--image",
            path(next.next().unwrap()),
            "--strategy",
            "canary:50:2s",
            "--bake",
            "2s",
        ];
        let killed = stack.xtask_with(&args, &[(KILL_AT, at)]).await;
        assert_eq!(killed.status.signal(), Some(9), "{at}: {:?}", killed.status);
        let left = green_target(&stack, &cloud).await;
        never_half_changed(at, &old, &left);
        if matches!(at, "shift:end" | "promote") {
            assert_eq!(left.1.len(), 1, "killed at {at}, a split is left: {left:?}");
        }
        let green = cloud.get_alias(&stack.name, "green").await.unwrap();
        let left_baking = baking(&green.description).is_some();
        assert_eq!(
            left_baking,
            matches!(at, "promote:end" | "bake"),
            "killed at {at}: {}",
            green.description
        );

        let mut rerun = args.to_vec();
        rerun.push("--break-lock");
        let output = stack.xtask(&rerun).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "re-run after a kill at {at}: {stderr}"
        );
        if !left.1.is_empty() {
            assert!(
                stderr.contains("green is mid-rollout of version"),
                "{at}: the re-run carried the rollout on: {stderr}"
            );
        }
        if left_baking {
            assert!(
                stderr.contains("did not finish"),
                "{at}: the re-run resumed the bake: {stderr}"
            );
        }
        let after = cloud.get_alias(&stack.name, "green").await.unwrap();
        assert_ne!(after.target.version, old, "{at}: green did not move");
        assert!(
            after.target.additional_weights.is_empty(),
            "{at}: {after:?}"
        );
        assert_eq!(
            baking(&after.description),
            None,
            "{at}: {}",
            after.description
        );
    }
    let seen = clients.stop().await;
    let failed = prober::failures(&seen);
    assert!(
        failed.is_empty(),
        "{} requests failed: {failed:?}",
        failed.len()
    );
    eprintln!(
        "rollout killed at {} boundaries, each converged; {} requests, 0 failed",
        boundaries.len(),
        seen.iter().map(Vec::len).sum::<usize>()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rollout_killed_as_it_reverts_is_rolled_back_by_the_next_run() {
    let (image_a, image_b) = images();
    let stack = Stack::new("canary-revert-killed");
    let first = stack.ok(&["deploy", "--image", path(image_a)]).await;
    let old = first["version"].to_string();
    let base = first["version"].as_u64().unwrap();
    // Image b fails half its invocations through green, whatever number a publication of it
    // gets (each deploy updates the function before it publishes, so each is a new version,
    // on AWS as here: aws-behaviours row 45).
    for version in base + 1..=base + 4 {
        fail_on_green(&stack, &version.to_string(), 0.5).await;
    }
    let cloud = stack.cloud().await;
    let api = cloud.find_rest_api(&stack.name).await.unwrap();
    let blue_left = async || cloud.get_stage(&api.id, "blue").await.is_ok();
    // Killed in the shift (a split left) and in the bake (the candidate alone, baking). Nobody
    // uses green once the run is killed (and the bake's end has passed when the next run
    // comes): the failures the killed run saw are all there is to judge.
    let bake = 3;
    let (mut sent, mut failed_requests) = (0, 0);
    let mut tally = |seen: Vec<Vec<prober::Seen>>| {
        sent += seen.iter().map(Vec::len).sum::<usize>();
        failed_requests += prober::failures(&seen).len();
    };
    for how in [
        ["--strategy", "canary:50:30s"],
        ["--bake", &format!("{bake}s")],
    ] {
        let clients = clients_on(&first);
        // --force: the first round's rollback records image b as failed.
        let mut args = vec!["deploy", "--image", path(image_b), "--force"];
        args.extend(how);
        let killed = stack.xtask_with(&args, &[(KILL_AT, "revert")]).await;
        assert_eq!(killed.status.signal(), Some(9), "{how:?}: {killed:?}");
        let (main, weights) = green_target(&stack, &cloud).await;
        // The version the killed run was reverting: the split's other half, or the one baking.
        let killed_version = if how[0] == "--strategy" {
            assert_eq!(main, old, "{how:?}: killed before the revert's write");
            assert_eq!(weights.len(), 1, "{how:?}: a split is left");
            weights.into_keys().next().unwrap()
        } else {
            assert_ne!(
                main, old,
                "{how:?}: the candidate was promoted before its bake"
            );
            main
        };
        assert!(blue_left().await, "{how:?}: the lock is left");
        tally(clients.stop().await);
        tokio::time::sleep(Duration::from_secs(bake + 1)).await;

        // The same deploy again carries the rollout on (the shift's step, or the bake) and
        // judges its real traffic from the rollout's start: the failures the killed run saw
        // count, though nobody uses green now (security-audit-3, test 4: the shift's used to
        // be settled and rolled out anew, and the killed version was never recorded failed).
        args.push("--break-lock");
        let output = stack.xtask(&args).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(7),
            "{how:?}: the next run rolls back: {stderr}"
        );
        assert_eq!(
            green_target(&stack, &cloud).await,
            (old.clone(), BTreeMap::new()),
            "{how:?}: green on the old version alone: {stderr}"
        );
        let green = cloud.get_alias(&stack.name, "green").await.unwrap();
        assert_eq!(
            ledger::Promotion::parse(&green.description).unwrap().baking,
            None
        );
        assert!(!blue_left().await, "{how:?}: no lock stays");
        // The version rolled back is recorded as failed: not gone back to without --force.
        // That is the version killed: the next run reverts it rather than ship its own.
        let failed = stderr
            .split(" is recorded as failed")
            .next()
            .and_then(|s| s.rsplit("version ").next())
            .unwrap_or_default();
        assert_eq!(failed, killed_version, "{how:?}: {stderr}");
        let refused = stack.refused(&["rollback", "--to", failed]).await;
        assert!(refused.contains("--force"), "{how:?}: {failed}: {refused}");
        eprintln!(
            "killed as it reverted ({how:?}), the next run: {}",
            stderr
                .lines()
                .rev()
                .find(|l| l.contains("rolled back"))
                .unwrap_or("")
        );
    }
    let counts = traffic(&stack, &[&old], std::time::SystemTime::UNIX_EPOCH).await;
    assert_eq!(counts[&old].errors, 0, "{counts:?}");
    eprintln!(
        "killed at revert twice: {sent} requests, {failed_requests} failed; data plane: {counts:?}"
    );
}

/// Killed once its revert returned (green back on the old version alone, the image tagged
/// failed, the lock not yet released): the next run of the same deploy takes the lock over,
/// is refused for the failed image before it writes anything else, and releases the lock.
#[tokio::test(flavor = "multi_thread")]
async fn a_rollout_killed_after_its_revert_leaves_its_image_refused_and_no_lock() {
    let (image_a, image_b) = images();
    let stack = Stack::new("canary-reverted-killed");
    let BadNext { old, clients, .. } = bad_next(&stack, image_a).await;
    let args = [
        "deploy",
        "--image",
        path(image_b),
        "--strategy",
        "canary:50:30s",
    ];
    let killed = stack.xtask_with(&args, &[(KILL_AT, "revert:end")]).await;
    clients.stop().await;
    assert_eq!(killed.status.signal(), Some(9), "{killed:?}");
    let cloud = stack.cloud().await;
    let api = cloud.find_rest_api(&stack.name).await.unwrap();
    let blue_left = async || cloud.get_stage(&api.id, "blue").await.is_ok();
    let reverted = (old.clone(), BTreeMap::new());
    assert_eq!(green_target(&stack, &cloud).await, reverted);
    assert!(blue_left().await, "the killed run's lock is left");

    let published = cloud.list_versions(&stack.name).await.unwrap().len();
    let rerun = [&args[..], &["--break-lock"]].concat();
    let refused = stack.refused(&rerun).await;
    assert!(
        refused.contains("failed a rollout") && refused.contains("--force"),
        "{refused}"
    );
    assert!(
        !blue_left().await,
        "the refused run released the lock it took over"
    );
    assert_eq!(green_target(&stack, &cloud).await, reverted);
    let after = cloud.list_versions(&stack.name).await.unwrap().len();
    assert_eq!(after, published, "the refused run published nothing");
}

/// Killed mid-shift, then the deploy of green's own main version run again (a re-run of an
/// older workflow, say): green is split, so the run is no "already deployed" no-op; it settles
/// the split under the lock and ships (security-audit-3 N6: before, it answered "already
/// deployed", exit 0, and left the canary's weight on green, unwatched). A hold over the split
/// is refused before it writes (adversarial-3 m6: its RevisionId went stale in the settle).
#[tokio::test(flavor = "multi_thread")]
async fn a_split_green_is_never_already_deployed() {
    let (image_a, image_b) = images();
    let stack = Stack::new("split-no-op");
    stack.ok(&["deploy", "--image", path(image_a)]).await;
    let canary = [
        "deploy",
        "--image",
        path(image_b),
        "--strategy",
        "canary:50:30s",
    ];
    let killed = stack.xtask_with(&canary, &[(KILL_AT, "shift:end")]).await;
    assert_eq!(killed.status.signal(), Some(9), "{killed:?}");
    let cloud = stack.cloud().await;
    assert_eq!(
        green_target(&stack, &cloud).await.1.len(),
        1,
        "a split is left"
    );
    // A hold over the split could never be promoted (adversarial-3 m6): refused up front.
    let hold = ["deploy", "--image", path(image_a), "--hold", "--break-lock"];
    let refused = stack.refused(&hold).await;
    assert!(refused.contains("green is split"), "{refused}");
    let again = stack
        .ok(&["deploy", "--image", path(image_a), "--break-lock"])
        .await;
    assert_eq!(again["outcome"], "deployed", "{again}");
    let (main, weights) = green_target(&stack, &cloud).await;
    assert_eq!(
        (main, weights),
        (again["version"].to_string(), BTreeMap::new())
    );
}
