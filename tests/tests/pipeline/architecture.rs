//! arm64 end to end, and an architecture changed only by an explicit switch.
use bgd_core::cloud::Functions;
use e2e::stack::{Stack, arm64_image, images, path, version_at};

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
