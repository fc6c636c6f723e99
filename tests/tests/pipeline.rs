//! The blue/green pipeline end to end, each test on a local cloud of its own: the real
//! `cargo xtask` binary against moto, the registry and the gateway, checked over HTTP.
use e2e::stack::{Stack, alias_version, arm64_image, head_sha, images, path, stage, version_at};
use xtask::{
    cloud::{Apis, Functions, Stage},
    ledger::Lock,
    pipeline::Phase,
};

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
        .ok(&["deploy", "--image", path(image_b), "--keep-blue"])
        .await;
    let blue_url = kept["blue_url"].as_str().unwrap().to_owned();

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

#[tokio::test(flavor = "multi_thread")]
async fn prune_deletes_only_versions_and_images_nothing_still_needs() {
    let (image_a, image_b) = images();
    let stack = Stack::new("prune");
    // Versions 1 (a), 2 (b), 3 (a), then 4: image a with another configuration. Green → 4,
    // a plain rollback → 3: both run image a, so image b is needed by no kept version.
    for image in [image_a, image_b, image_a] {
        stack.ok(&["deploy", "--image", path(image)]).await;
    }
    stack.configure("GREETING = \"hello again from e2e\"", "hello");
    let last = stack.ok(&["deploy", "--image", path(image_a)]).await;
    assert_eq!(last["version"], 4);
    let cloud = stack.cloud().await;
    let digest_of = |version: &str| {
        let cloud = &cloud;
        let version = version.to_owned();
        async move {
            let found = cloud.get_version("prune", &version).await.unwrap();
            found.image.unwrap().digest
        }
    };
    let image_b_digest = digest_of("2").await;
    assert_ne!(image_b_digest, digest_of("4").await);

    let planned = stack.ok(&["prune", "--keep", "1", "--dry-run"]).await;
    assert_eq!(
        planned["deleted_versions"],
        serde_json::json!([1, 2]),
        "{planned}"
    );
    assert_eq!(
        cloud.list_versions("prune").await.unwrap().len(),
        4,
        "--dry-run deleted"
    );

    let pruned = stack.ok(&["prune", "--keep", "1"]).await;
    assert_eq!(pruned["kept"]["4"], "alias green", "{pruned}");
    assert_eq!(
        pruned["kept"]["3"], "what a plain rollback goes back to",
        "{pruned}"
    );
    assert_eq!(
        pruned["deleted_images"],
        serde_json::json!([image_b_digest]),
        "{pruned}"
    );
    assert_eq!(
        (&pruned["versions_before"], &pruned["versions_after"]),
        (&serde_json::json!(4), &serde_json::json!(2))
    );
    assert_eq!(
        (&pruned["images_before"], &pruned["images_after"]),
        (&serde_json::json!(2), &serde_json::json!(1))
    );
    eprintln!(
        "prune --keep 1: versions {} → {}, images {} → {}",
        pruned["versions_before"],
        pruned["versions_after"],
        pruned["images_before"],
        pruned["images_after"]
    );
    let left: Vec<String> = cloud
        .list_versions("prune")
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(left, ["3", "4"]);
    let endpoints = xtask::local::LocalCloud::at(stack.local_dir())
        .endpoints()
        .unwrap();
    use xtask::image::Registry as _;
    let registry = xtask::image::OciRegistry::new(&endpoints.registry_url, None).unwrap();
    assert!(
        !registry
            .has_manifest("prune", &image_b_digest)
            .await
            .unwrap()
    );
    assert!(
        registry
            .has_manifest("prune", &digest_of("4").await)
            .await
            .unwrap()
    );
    // What green serves is untouched, and a plain rollback still has its version.
    let rollback = stack.ok(&["rollback"]).await;
    assert_eq!(rollback["to"], 3);

    // Provision left the rule that keeps verified images in the repository.
    let again = stack.ok(&["provision"]).await;
    assert!(
        again["created"].as_array().unwrap().is_empty(),
        "a second provision writes no lifecycle policy again: {again}"
    );
}

/// `status`, `history`, `verify` and every `--dry-run` (deploy, rollback, provision, destroy)
/// send no write, to AWS or to the registry: the write meter (the SDK interceptor, and the
/// registry client metered with it) reads 0 after each, and reads 1 after one registry write.
#[tokio::test(flavor = "multi_thread")]
async fn read_only_verbs_and_dry_runs_make_zero_write_calls() {
    use std::time::Duration;
    use xtask::{
        config::Config,
        image::{Built, Registry},
        local::LocalCloud,
        pipeline::{self, Ctx, deploy, destroy, provision, rollback, status},
        progress::Progress,
        verify::Prober,
    };

    let (image_a, image_b) = images();
    let stack = Stack::new("e2e-read-only");
    stack.ok(&["deploy", "--image", path(image_a)]).await;
    stack.ok(&["deploy", "--image", path(image_b)]).await;

    let endpoints = LocalCloud::at(stack.local_dir()).endpoints().unwrap();
    let ctx = Ctx {
        cloud: stack.cloud().await,
        config: Config::from_file(&stack.deploy_toml).unwrap(),
        account: "123456789012".into(),
        local_gateway: Some(endpoints.gateway_url.clone()),
        function_log: None,
        progress: Progress::default(),
        prober: Prober::default(),
        deadline: tokio::time::Instant::now() + Duration::from_secs(120),
        green_attempt: Default::default(),
        traffic: None,
    };
    let dry = |image: &std::path::Path| deploy::Options {
        image: Some(image.to_owned()),
        dry_run: true,
        ..Default::default()
    };
    let writes = || ctx.cloud.write_calls();

    status::status(&ctx, true).await.unwrap();
    assert_eq!(writes(), 0, "status");
    status::history(&ctx).await.unwrap();
    assert_eq!(writes(), 0, "history");
    status::verify(&ctx, pipeline::GREEN, None).await.unwrap();
    assert_eq!(writes(), 0, "verify --stage green");
    let plan = deploy::run(&ctx, &dry(image_a)).await.unwrap();
    assert_eq!(plan.outcome, deploy::Outcome::Planned);
    assert_eq!(writes(), 0, "deploy --dry-run");
    let options = rollback::Options {
        dry_run: true,
        ..Default::default()
    };
    let planned = rollback::run(&ctx, options).await.unwrap();
    assert!(planned.dry_run && planned.to < planned.from, "{planned:?}");
    assert_eq!(writes(), 0, "rollback --dry-run");
    provision::run(&ctx, &dry(image_a)).await.unwrap();
    assert_eq!(writes(), 0, "provision --dry-run");
    let removed = destroy::run(&ctx, true, false).await.unwrap();
    assert!(!removed.is_empty());
    assert_eq!(writes(), 0, "destroy --dry-run");

    // The meter sees the registry's writes too: one tag is one write.
    let (registry, repository) = ctx.registry().await.unwrap();
    let (built, _) = Built::read(image_a).unwrap();
    registry
        .tag(&repository.name, &built.digest, "meter-check")
        .await
        .unwrap();
    assert_eq!(writes(), 1, "a registry tag is counted");
}

/// arm64 end to end on this x86_64 host (the data plane runs the bootstrap under qemu-user),
/// and a function moved between architectures: refused before anything is written unless
/// asked, then switched by a deploy that verifies the new version on blue, while the versions
/// published before keep their architecture (a rollback goes back to x86_64).
#[tokio::test(flavor = "multi_thread")]
async fn an_arm64_build_goes_green_and_only_an_explicit_switch_changes_architecture() {
    let ((image_a, _), arm64) = (images(), arm64_image());
    let stack = Stack::new("e2e-arm64");
    let first = stack.ok(&["deploy", "--image", path(image_a)]).await;
    let x86_version = first["version"].as_u64().unwrap();
    let green_url = first["green_url"].as_str().unwrap().to_owned();
    assert_eq!(
        version_at(&green_url, None).await.1["build"]["arch"],
        "x86_64"
    );

    // deploy.toml now says arm64: provision and deploy stop before writing, saying what to do.
    stack.set_architecture("arm64");
    let cloud = stack.cloud().await;
    let before = cloud.get_version(&stack.name, "$LATEST").await.unwrap();
    for args in [&["provision"][..], &["deploy", "--image", path(arm64)]] {
        let why = stack.refused(args).await;
        assert!(
            why.contains("runs on x86_64") && why.contains("--switch-architecture"),
            "{why}"
        );
    }
    // An image built for the other architecture than deploy.toml's is refused too.
    let why = stack
        .refused(&["deploy", "--image", path(image_a), "--switch-architecture"])
        .await;
    assert!(why.contains("holds an image for x86_64"), "{why}");
    let after = cloud.get_version(&stack.name, "$LATEST").await.unwrap();
    assert_eq!(after.architecture, "x86_64");
    assert_eq!(after.revision_id, before.revision_id, "nothing written");
    assert_eq!(cloud.list_versions(&stack.name).await.unwrap().len(), 1);

    let switched = stack
        .ok(&["deploy", "--image", path(arm64), "--switch-architecture"])
        .await;
    assert_eq!(switched["outcome"], "deployed");
    let arm64_version = switched["version"].as_u64().unwrap();
    let (status, report) = version_at(&green_url, None).await;
    assert_eq!(status, 200);
    assert_eq!(report["version"], arm64_version.to_string());
    assert_eq!(report["build"]["arch"], "aarch64", "{report}");
    assert_eq!(report["build"]["id"], "arm64");
    let latest = cloud.get_version(&stack.name, "$LATEST").await.unwrap();
    assert_eq!(latest.architecture, "arm64");

    // The x86_64 version kept its architecture: rolling back runs it as it was.
    let version = cloud
        .get_version(&stack.name, &x86_version.to_string())
        .await
        .unwrap();
    assert_eq!(version.architecture, "x86_64");
    stack
        .ok(&["rollback", "--to", &x86_version.to_string()])
        .await;
    let (_, report) = version_at(&green_url, None).await;
    assert_eq!(report["version"], x86_version.to_string());
    assert_eq!(report["build"]["arch"], "x86_64");
}
