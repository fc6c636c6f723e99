//! The local cloud's processes: `up` reuses what is healthy and restarts what is not; `down`
//! leaves nothing running, function instances included; neither does a failed `up`.
use std::{
    path::Path,
    time::{Duration, Instant},
};

use bgd_core::setup;
use bgd_local::{Component, LocalCloud};
use e2e::local::{
    Running, deploy_two_versions, idle_instances, stage_url, unique, version, xtask_binary,
};
use e2e::process::{kill, pid_of};

/// Live processes whose stdout or stderr is a file under `dir`: every component of a local
/// cloud logs into its state dir, whatever its command line says.
fn logging_under(dir: &Path) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|p| p.parse().ok()) else {
            continue;
        };
        let writes_here = ["fd/1", "fd/2"].iter().any(|fd| {
            std::fs::read_link(entry.path().join(fd)).is_ok_and(|target| target.starts_with(dir))
        });
        // A zombie waiting to be reaped runs nothing.
        let zombie = std::fs::read_to_string(entry.path().join("stat")).is_ok_and(|stat| {
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        });
        if writes_here && !zombie {
            found.push(pid);
        }
    }
    found
}

/// Waits until no process logs under `dir`, or fails naming those that still run.
async fn none_left_under(dir: &Path, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = logging_under(dir);
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: still running {left:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A test's local cloud given up while it starts (a timeout, a panic beside it) stops what it
/// had started: the tests' guard held nothing until up had finished (security-audit-3 #27).
#[tokio::test]
async fn a_test_cloud_given_up_while_starting_leaves_no_process() {
    let dir = setup::target_dir().join("tmp").join(unique("given-up"));
    let up = Running::up_in(dir.clone(), true);
    let first_process = async {
        while logging_under(&dir).is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::select! {
        _ = up => panic!("up finished before its first process was seen"),
        () = first_process => {}
    }
    none_left_under(&dir, "the processes of an up given up").await;
}

#[tokio::test]
async fn a_failed_up_stops_what_it_started_and_leaves_no_process() {
    let dir = setup::target_dir().join("tmp").join(unique("failed-up"));
    // The front is served by the xtask binary: one that exits at once fails `up` after moto
    // and the registry started.
    let error = LocalCloud::at(&dir)
        .up(Path::new("/bin/false"))
        .await
        .expect_err("a front that never answers fails up");
    let text = format!("{error:#}");
    assert!(
        text.contains("stopped what it had started") && text.contains("registry (pid"),
        "{text}"
    );
    none_left_under(&dir, "the processes of the failed up").await;
}

#[tokio::test]
async fn a_second_up_reuses_healthy_components_and_restarts_a_dead_one() {
    let local = Running::up().await;
    let moto = pid_of(&local.local, Component::Moto).await;
    let registry = pid_of(&local.local, Component::Registry).await;
    kill(registry, libc::SIGKILL);
    let endpoints = local.local.up(&xtask_binary()).await.unwrap();
    let after = local.local.status().await.unwrap();
    assert!(after.iter().all(|s| s.healthy), "{after:?}");
    assert_eq!(
        pid_of(&local.local, Component::Moto).await,
        moto,
        "moto was healthy: reused"
    );
    assert_ne!(
        pid_of(&local.local, Component::Registry).await,
        registry,
        "the registry was dead: restarted"
    );
    assert_eq!(endpoints.moto_url, local.endpoints.moto_url);
}

#[tokio::test]
async fn down_leaves_no_process_behind_not_even_function_instances() {
    let local = Running::up().await;
    let deployed = deploy_two_versions(&local, &unique("fn")).await;
    let http = bgd_tls::client();
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
