//! A rollout outlives the processes that run it (aws-audit-3 N2). Run in several processes,
//! each killed mid-rollout and the next one `resume`, it takes the decisions one uninterrupted
//! run takes: a healthy candidate is promoted, a failing one rolled back and recorded failed
//! (judged on the real traffic since the rollout began, whoever watched it). With --hand-off,
//! a rollout longer than its run stops short of the run's deadline and `resume` finishes it.
use std::{collections::BTreeMap, os::unix::process::ExitStatusExt, time::Duration};

use bgd_aws::SdkCloud;
use bgd_core::{
    cloud::{Apis, Functions},
    hooks::KILL_AT,
    ledger::Promotion,
};
use e2e::stack::{Stack, images, path};
use serde_json::Value;

use super::rollout::{clients_on, fail_on_green, green_target};

/// Green's record: the promotion, with the rollout under way if any.
async fn record(stack: &Stack, cloud: &SdkCloud) -> Promotion {
    let green = cloud.get_alias(&stack.name, "green").await.unwrap();
    Promotion::parse(&green.description).unwrap()
}

/// Two steps and a bake: each a boundary a process can die at.
const PLAN: [&str; 4] = ["--strategy", "linear:34:3s", "--bake", "3s"];

#[tokio::test(flavor = "multi_thread")]
async fn a_rollout_run_in_killed_processes_decides_as_one_run_does() {
    let (image_a, image_b) = images();
    let stack = Stack::new("resume-killed");
    let first = stack.ok(&["deploy", "--image", path(image_a)]).await;
    let clients = clients_on(&first);
    let cloud = stack.cloud().await;
    let deploy = |image| [&["deploy", "--image", path(image)][..], &PLAN].concat();

    // A healthy candidate, in one run: promoted.
    let one_run = stack.ok(&deploy(image_b)).await;
    assert_eq!(one_run["outcome"], "deployed", "{one_run}");
    let old = one_run["version"].to_string();

    // The same decision across four processes, three of them killed: after the first step's
    // write, after the second's (`resume`), in the bake (`resume`), then a `resume` that ends it.
    let killed = stack
        .xtask_with(&deploy(image_a), &[(KILL_AT, "shift:end")])
        .await;
    assert_eq!(killed.status.signal(), Some(9), "{killed:?}");
    let rolling = record(&stack, &cloud)
        .await
        .rolling
        .expect("a rollout under way");
    assert_eq!(rolling.step, 0, "{rolling:?}");
    let candidate = rolling.to.to_string();
    let resume = ["resume", "--break-lock"];
    let mut stops = vec!["deploy at shift:end (step 1)".to_owned()];
    for (at, expect) in [("shift:end", Some(1)), ("promote:end", None)] {
        let killed = stack.xtask_with(&resume, &[(KILL_AT, at)]).await;
        assert_eq!(killed.status.signal(), Some(9), "{at}: {killed:?}");
        let left = record(&stack, &cloud).await;
        assert_eq!(
            left.rolling.as_ref().map(|r| r.step),
            expect,
            "{at}: {left:?}"
        );
        if expect.is_none() {
            assert_eq!(left.version.to_string(), candidate, "{at}: promoted");
            assert!(left.baking.is_some(), "{at}: killed in the bake: {left:?}");
        }
        stops.push(format!("resume at {at}"));
    }
    let last = stack.ok(&resume).await;
    assert_eq!(last["outcome"], "finished", "{last}");
    assert_eq!(last["version"].to_string(), candidate, "{last}");
    assert_eq!(
        green_target(&stack, &cloud).await,
        (candidate.clone(), BTreeMap::new())
    );
    let done = record(&stack, &cloud).await;
    assert_eq!((done.baking, &done.rolling), (None, &None), "{done:?}");
    assert_eq!(done.from.map(|v| v.to_string()), Some(old.clone()));
    clients.stop().await;
    eprintln!(
        "a healthy rollout carried on across 4 processes (killed at {stops:?}): promoted, as one run promoted it"
    );

    // A failing candidate (half its invocations through green fail), in one run: rolled back.
    let base = done.version;
    for version in base + 1..=base + 3 {
        fail_on_green(&stack, &version.to_string(), 0.5).await;
    }
    let one_run = stack.xtask(&deploy(image_b)).await;
    assert_eq!(one_run.status.code(), Some(7), "{one_run:?}");
    // The same candidate across two processes: the first killed after its first write, with
    // clients on green until then; the next one judges the traffic since the rollout began.
    let clients = clients_on(&first);
    let again = [&deploy(image_b)[..], &["--force"]].concat();
    let killed = stack.xtask_with(&again, &[(KILL_AT, "shift:end")]).await;
    assert_eq!(killed.status.signal(), Some(9), "{killed:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    clients.stop().await;
    let failing = record(&stack, &cloud).await.rolling.expect("under way").to;
    let output = stack.xtask(&resume).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(7), "rolled back: {stderr}");
    assert_eq!(
        green_target(&stack, &cloud).await,
        (candidate.clone(), BTreeMap::new()),
        "{stderr}"
    );
    assert_eq!(record(&stack, &cloud).await.rolling, None);
    let refused = stack
        .refused(&["rollback", "--to", &failing.to_string()])
        .await;
    assert!(refused.contains("--force"), "recorded failed: {refused}");
    eprintln!("a failing rollout carried on after a kill: rolled back, as one run rolled it back");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rollout_longer_than_its_run_is_handed_off_and_finished_by_resume() {
    let (image_a, image_b) = images();
    let stack = Stack::new("resume-hand-off");
    stack.ok(&["deploy", "--image", path(image_a)]).await;
    let cloud = stack.cloud().await;
    let long = [
        "deploy",
        "--image",
        path(image_b),
        "--strategy",
        "canary:50:40s",
        "--timeout",
        "90",
    ];
    let refused = stack.refused(&long).await;
    assert!(refused.contains("--hand-off"), "{refused}");

    let handed: Value = stack.ok(&[&long[..], &["--hand-off"]].concat()).await;
    assert_eq!(handed["outcome"], "handed_off", "{handed}");
    let version = handed["version"].to_string();
    let (main, weights) = green_target(&stack, &cloud).await;
    assert_ne!(main, version, "still split: {weights:?}");
    assert_eq!(weights.keys().collect::<Vec<_>>(), [&version]);
    let api = cloud.find_rest_api(&stack.name).await.unwrap();
    assert!(
        cloud.get_stage(&api.id, "blue").await.is_err(),
        "a handed-off run releases its lock"
    );
    let planned = stack.ok(&["resume", "--dry-run"]).await;
    assert_eq!(planned["outcome"], "planned", "{planned}");
    assert_eq!(planned["version"].to_string(), version, "{planned}");
    // Each resume watches until a minute before its own deadline, then hands off again.
    let mut runs = 0;
    let finished = loop {
        runs += 1;
        let resumed = stack.ok(&["resume", "--timeout", "90"]).await;
        if resumed["outcome"] != "handed_off" || runs == 5 {
            break resumed;
        }
    };
    assert_eq!(finished["outcome"], "finished", "{finished}");
    assert_eq!(
        green_target(&stack, &cloud).await,
        (version, BTreeMap::new())
    );
    let nothing = stack.ok(&["resume"]).await;
    assert_eq!(nothing["outcome"], "nothing", "{nothing}");
    eprintln!("a 40 s canary in runs of 90 s (30 s of watching each): finished by resume #{runs}");
}
