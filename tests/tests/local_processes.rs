//! The local cloud's processes: `up` reuses what is healthy and restarts what is not; `down`
//! leaves nothing running, function instances included.
use std::time::{Duration, Instant};

use e2e::local::{
    Running, deploy_two_versions, idle_instances, stage_url, unique, version, xtask_binary,
};

#[tokio::test]
async fn a_second_up_reuses_healthy_components_and_restarts_a_dead_one() {
    let local = Running::up().await;
    let before = local.local.status().await.unwrap();
    let registry_pid = before[1].pid.unwrap();
    std::process::Command::new("kill")
        .args(["-9", &registry_pid.to_string()])
        .status()
        .unwrap();
    let endpoints = local.local.up(&xtask_binary()).await.unwrap();
    let after = local.local.status().await.unwrap();
    assert!(after.iter().all(|s| s.healthy), "{after:?}");
    assert_eq!(after[0].pid, before[0].pid, "moto was healthy: reused");
    assert_ne!(
        after[1].pid, before[1].pid,
        "the registry was dead: restarted"
    );
    assert_eq!(endpoints.moto_url, local.endpoints.moto_url);
}

#[tokio::test]
async fn down_leaves_no_process_behind_not_even_function_instances() {
    let local = Running::up().await;
    let deployed = deploy_two_versions(&local, &unique("fn")).await;
    let http = reqwest::Client::new();
    version(
        &http,
        &stage_url(&local, &deployed.api, "green", "/version"),
    )
    .await;
    let mut pids: Vec<u32> = local
        .local
        .status()
        .await
        .unwrap()
        .iter()
        .map(|s| s.pid.unwrap())
        .collect();
    pids.extend(idle_instances(&http, &local).await);
    assert_eq!(
        pids.len(),
        5,
        "moto, registry, front, gateway and one instance: {pids:?}"
    );

    local.local.down().unwrap();
    // A stopped child may linger as a zombie until its parent reaps it; it runs nothing.
    let deadline = Instant::now() + Duration::from_secs(5);
    let running = |pid: &u32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            !stat
                .rsplit_once(')')
                .is_some_and(|(_, s)| s.trim_start().starts_with('Z'))
        })
    };
    while pids.iter().any(running) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let left: Vec<_> = pids.iter().filter(|pid| running(pid)).collect();
    assert!(left.is_empty(), "still running after down: {left:?}");
    assert!(
        local
            .local
            .status()
            .await
            .unwrap()
            .iter()
            .all(|s| s.pid.is_none())
    );
}
