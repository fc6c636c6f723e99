//! Prune deletes only what nothing still needs, and holds the lock while it does.
use bgd_aws::OciRegistry;
use bgd_core::{cloud::Functions, image::Registry, ledger};
use bgd_local::LocalCloud;
use e2e::stack::{Stack, images, path};

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
    // Each push tags its image as one `$LATEST` may run, which the lifecycle policy keeps.
    let latest = ledger::latest_image_tag(&image_b_digest);
    let tagged = registry(&stack).digest_of("prune", &latest).await.unwrap();
    assert_eq!(tagged.as_deref(), Some(image_b_digest.as_str()));

    // --keep 3: versions 4, 3 and 2 are the newest verified. Judged on the list answer,
    // which names no image (on AWS too), none counted as verified and 2 was planned deleted.
    let three = stack.ok(&["prune", "--keep", "3", "--dry-run"]).await;
    assert_eq!(three["deleted_versions"], serde_json::json!([1]), "{three}");
    assert_eq!(three["kept"]["2"], "one of the newest verified", "{three}");

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

    // A deploy that failed on blue leaves $LATEST on an image no kept version runs: deleted,
    // the function would go Failed (and the next deploy with it). Before, prune planned it.
    let latest_on = |version: &'static str| {
        let cloud = &cloud;
        async move {
            let image = cloud.get_version("prune", version).await.unwrap();
            let arch = image.architecture.clone();
            cloud
                .update_function_code("prune", &image.image.unwrap(), &arch)
                .await
                .unwrap();
            while cloud
                .get_version("prune", "$LATEST")
                .await
                .unwrap()
                .last_update_status
                != Some("Successful".into())
            {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
    };
    latest_on("2").await;
    let planned = stack.ok(&["prune", "--keep", "1", "--dry-run"]).await;
    assert_eq!(
        planned["deleted_images"],
        serde_json::json!([]),
        "{planned}"
    );
    let why = planned["kept_images"][&image_b_digest]
        .as_str()
        .unwrap_or_default();
    assert!(why.starts_with("$LATEST runs it"), "{planned}");
    latest_on("4").await;

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
    let registry = registry(&stack);
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

fn registry(stack: &Stack) -> OciRegistry {
    let endpoints = LocalCloud::at(stack.local_dir()).endpoints().unwrap();
    OciRegistry::new(&endpoints.registry_url, None).unwrap()
}

/// Versions 1 (image b), 2 and 3 (image a, two configurations): green 3, a plain rollback 2,
/// so `--keep 1` dooms version 1 and image b. What a revert leaves (adversarial-3 #7): image b
/// tagged failed stays with its tag, so a deploy of it is still refused; and a deploy while
/// prune works is refused by the lock prune holds (#8). Before, prune deleted the image with
/// its tag (the failed image deployed again, exit 0) and held no lock (the deploy went
/// through, exit 0).
#[tokio::test(flavor = "multi_thread")]
async fn prune_keeps_a_failed_images_record_and_holds_the_lock_while_it_deletes() {
    let (image_a, image_b) = images();
    let stack = Stack::new("prune-lock");
    stack.ok(&["deploy", "--image", path(image_b)]).await;
    stack.ok(&["deploy", "--image", path(image_a)]).await;
    stack.configure("GREETING = \"hello again from e2e\"", "hello");
    stack.ok(&["deploy", "--image", path(image_a)]).await;
    let cloud = stack.cloud().await;
    let failed = cloud
        .get_version("prune-lock", "1")
        .await
        .unwrap()
        .image
        .unwrap()
        .digest;
    let registry = registry(&stack);
    registry
        .tag("prune-lock", &failed, &ledger::failed_image_tag(&failed))
        .await
        .unwrap();

    let (pruned, deploy) = stack
        .paused_at(
            &["prune", "--keep", "1"],
            "cleanup",
            &["deploy", "--image", path(image_b), "--force"],
        )
        .await;
    let why = String::from_utf8_lossy(&deploy.stderr);
    assert_eq!(
        deploy.status.code(),
        Some(4),
        "the lock stops the deploy: {why}"
    );
    assert!(
        why.contains("pruning"),
        "it names prune as the holder: {why}"
    );
    assert!(
        pruned.status.success(),
        "{}",
        String::from_utf8_lossy(&pruned.stderr)
    );
    let pruned: serde_json::Value = serde_json::from_slice(&pruned.stdout).unwrap();
    assert_eq!(
        pruned["deleted_versions"],
        serde_json::json!([1]),
        "{pruned}"
    );
    assert!(
        pruned["kept_images"][&failed]
            .as_str()
            .unwrap()
            .contains("failed a rollout"),
        "{pruned}"
    );
    assert_eq!(pruned["deleted_images"], serde_json::json!([]), "{pruned}");
    assert!(registry.has_manifest("prune-lock", &failed).await.unwrap());
    let refused = stack.refused(&["deploy", "--image", path(image_b)]).await;
    assert!(refused.contains("failed a rollout"), "{refused}");
}
