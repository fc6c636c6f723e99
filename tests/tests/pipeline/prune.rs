//! Prune deletes only what nothing still needs.
use e2e::stack::{Stack, images, path};
use xtask::cloud::Functions;

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
