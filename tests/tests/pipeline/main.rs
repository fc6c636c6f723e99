//! The blue/green pipeline end to end, each test on a local cloud of its own: the real
//! `cargo xtask` binary against moto, the registry and the gateway, checked over HTTP.
mod architecture;
mod deadline;
mod environments;
mod prune;
mod read_only;

use bgd_core::{
    cloud::{Apis, Stage},
    ledger::{self, Lock},
    pipeline::Phase,
};
use e2e::stack::{Stack, alias_version, head_sha, images, path, stage, version_at};

#[tokio::test(flavor = "multi_thread")]
async fn deploy_promotes_only_verified_versions_and_rollback_returns_green_to_one() {
    let (image_a, image_b) = images();
    let stack = Stack::new("e2e-flow");

    // A fresh local cloud: deploy provisions, verifies on blue, then serves it on green.
    let first = stack.ok(&["deploy", "--image", path(image_a)]).await;
    let version_a = first["version"].as_u64().unwrap();
    let green_url = first["green_url"].as_str().unwrap().to_owned();
    let (status, report) = version_at(&green_url, None).await;
    assert_eq!(status, 200);
    assert_eq!(report["version"], version_a.to_string());
    assert_eq!(report["alias"], "green");
    assert_eq!(report["build"]["git_sha"], head_sha());
    assert_eq!(report["build"]["id"], "a");

    // The function's role may write its own log group, and no other.
    let policy = stack
        .role_policy()
        .await
        .expect("the role has its logs policy");
    let [statement] = policy["Statement"].as_array().unwrap().as_slice() else {
        panic!("one statement: {policy}");
    };
    assert_eq!(statement["Action"][2], "logs:PutLogEvents", "{policy}");
    let group = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/e2e-flow";
    assert_eq!(
        statement["Resource"],
        serde_json::json!([group, format!("{group}:*")])
    );

    // Provision again: everything exists, nothing is created (permissions included).
    let provision = stack.ok(&["provision"]).await;
    assert_eq!(provision["created"], serde_json::json!([]), "{provision}");

    // A second build: published as B > A, verified on blue, promoted; the lock is gone.
    let second = stack.ok(&["deploy", "--image", path(image_b)]).await;
    assert_eq!(second["outcome"], "deployed");
    let version_b = second["version"].as_u64().unwrap();
    assert!(version_b > version_a);
    let (_, report) = version_at(&green_url, None).await;
    assert_eq!(report["version"], version_b.to_string());
    assert_eq!(report["build"]["id"], "b");
    let phases: Vec<&str> = second["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    let deploy: Vec<&str> = Phase::DEPLOY.iter().map(|p| p.name()).collect();
    assert_eq!(phases, deploy);
    let summary = std::fs::read_to_string(stack.summary()).unwrap();
    assert!(
        summary.contains("### bgd deploy: Deployed")
            && summary.contains(&format!("| version | {version_b} |")),
        "{summary}"
    );
    let status = stack.status().await;
    assert!(
        stage(&status, "blue").is_none(),
        "no blue stage after a deploy: {status}"
    );
    assert_eq!(alias_version(&status, "green"), version_b.to_string());

    // The same image with the same configuration again: nothing is written.
    let again = stack.ok(&["deploy", "--image", path(image_b)]).await;
    assert_eq!(again["outcome"], "already_deployed");
    assert_eq!(again["write_calls"], 0, "a no-op deploy writes nothing");
    assert_eq!(again["version"], version_b);

    // Rollback to A: green reports A, status agrees, and green is pinned.
    let rollback = stack
        .ok(&["rollback", "--to", &version_a.to_string()])
        .await;
    assert_eq!(rollback["to"], version_a);
    assert_eq!(rollback["verified_before"], true);
    assert_eq!(
        rollback["write_calls"], 1,
        "a verified version goes back to green in one write"
    );
    let (_, report) = version_at(&green_url, None).await;
    assert_eq!(report["version"], version_a.to_string());
    let status = stack.status().await;
    assert_eq!(alias_version(&status, "green"), version_a.to_string());
    assert_eq!(
        stage(&status, "green").unwrap()["reports"]["version"],
        version_a.to_string()
    );
    let why = stack.refused(&["deploy", "--image", path(image_b)]).await;
    assert!(why.contains("pinned") && why.contains("unpin"), "{why}");

    // Rolling back to where green already is, pinned, is a re-run: nothing is written.
    let again = stack
        .ok(&["rollback", "--to", &version_a.to_string()])
        .await;
    assert_eq!(again["already_there"], true, "{again}");
    assert_eq!(again["write_calls"], 0, "{again}");
    assert_eq!(
        alias_version(&stack.status().await, "green"),
        version_a.to_string()
    );

    let destroyed = stack.ok(&["destroy", "--yes"]).await;
    assert!(
        destroyed["message"].as_str().unwrap().contains("REST API"),
        "{destroyed}"
    );
    let status = stack.status().await;
    assert!(status["stages"].as_array().unwrap().is_empty());
    assert!(
        stack.role_policy().await.is_none(),
        "destroy removes the role with its policy"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deploy_whose_blue_fails_verification_leaves_green_unchanged_and_blue_gone() {
    let (image_a, _) = images();
    let stack = Stack::new("e2e-fail");
    let first = stack.ok(&["deploy", "--image", path(image_a)]).await;
    let green_url = first["green_url"].as_str().unwrap().to_owned();
    let green_version = first["version"].as_u64().unwrap().to_string();

    // The app requires GREETING (deploy.toml [app] required_env); this configuration lacks it.
    stack.configure("OTHER = \"x\"", "hello");
    let why = stack.refused(&["deploy", "--image", path(image_a)]).await;
    assert!(
        why.contains("check failed") && why.contains("GREETING"),
        "{why}"
    );
    assert!(
        why.contains("the function's last log lines"),
        "the report shows the function's logs: {why}"
    );

    let (_, report) = version_at(&green_url, None).await;
    assert_eq!(report["version"], green_version);
    let status = stack.status().await;
    assert_eq!(alias_version(&status, "green"), green_version);
    assert!(
        stage(&status, "blue").is_none(),
        "the lock is released after a failure: {status}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_held_lock_refuses_a_second_deploy_naming_its_holder() {
    let (image_a, image_b) = images();
    let stack = Stack::new("e2e-lock");
    stack.ok(&["deploy", "--image", path(image_a)]).await;
    let kept = stack
        .ok(&[
            "deploy",
            "--image",
            path(image_b),
            "--keep-blue",
            "--timeout",
            "7200",
        ])
        .await;
    let blue_url = kept["blue_url"].as_str().unwrap().to_owned();
    // The lock stands as long as its run may: a fixed 30 minutes let the next deploy take
    // over the lock of a run with a longer --timeout mid-rollout (security-audit-3 N4).
    let status = stack.status().await;
    let lock = &stage(&status, "blue").unwrap()["lock"];
    let expires = lock["expires"].as_u64().unwrap();
    assert!(expires > ledger::epoch_seconds() + 7000, "{lock}");

    let why = stack.refused(&["deploy", "--image", path(image_a)]).await;
    assert!(
        why.contains("another deploy holds the lock") && why.contains("--break-lock"),
        "{why}"
    );

    // Blue answers only with its token, which status shows only when asked.
    let hidden = stack.status().await;
    let hidden_token = &stage(&hidden, "blue").unwrap()["variables"]["verify_token"];
    assert!(hidden_token.as_str().unwrap().contains("hidden"));
    let shown = stack.ok(&["status", "--show-token"]).await;
    let token = stage(&shown, "blue").unwrap()["variables"]["verify_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(version_at(&blue_url, None).await.0, 403);
    assert_eq!(version_at(&blue_url, Some("wrong")).await.0, 403);
    let (status, report) = version_at(&blue_url, Some(&token)).await;
    assert_eq!(status, 200);
    assert_eq!(report["alias"], "blue");

    let broke = stack
        .ok(&["deploy", "--image", path(image_a), "--break-lock"])
        .await;
    assert_eq!(broke["outcome"], "deployed");
    assert!(stage(&stack.status().await, "blue").is_none());

    // A lock whose run died and whose time ran out is taken over without --break-lock.
    let cloud = stack.cloud().await;
    let api = cloud.find_rest_api(&stack.name).await.unwrap();
    let green = cloud.get_stage(&api.id, "green").await.unwrap();
    let expired = Lock {
        holder: "ci@a-dead-runner".into(),
        git_sha: head_sha(),
        expires: 1,
        kept: false,
        hold: None,
        task: Default::default(),
    };
    cloud
        .create_stage(
            &api.id,
            &Stage {
                name: "blue".into(),
                description: expired.to_description(),
                ..green
            },
        )
        .await
        .unwrap();
    let output = stack.xtask(&["deploy", "--image", path(image_b)]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("taking over the lock because it expired")
            && stderr.contains("ci@a-dead-runner"),
        "{stderr}"
    );
    assert!(stage(&stack.status().await, "blue").is_none());
}
