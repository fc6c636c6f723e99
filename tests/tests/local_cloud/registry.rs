//! Pushing to the registry as ECR takes it.
use bgd_core::{
    cloud::Account,
    image::{Contents, Image, Registry},
    pipeline::Cloud,
};
use e2e::local::{Running, unique};

/// A repository whose tags are IMMUTABLE refuses any put of a tag that exists
/// (ImageTagAlreadyExistsException): a push puts no tag that already names its image, so the
/// same image pushed again under the same tag (a re-run, a verified tag written twice) writes
/// nothing, and works on either kind of repository (aws-audit-3 #21).
#[tokio::test]
async fn pushing_an_image_again_under_its_tag_writes_nothing() {
    let local = Running::up().await;
    let repository = local
        .cloud
        .ensure_repository(&unique("retag"))
        .await
        .unwrap();
    let access = local.cloud.registry_access().await.unwrap();
    let registry = local.cloud.registry_client(access).unwrap();
    let image = |ca_bundle: &[u8]| {
        let contents = Contents {
            bootstrap: b"not run",
            ca_bundle,
        };
        Image::assemble(&contents, "x86_64", "2026-01-01T00:00:00Z", 0).unwrap()
    };
    let writes = || local.cloud.write_calls();
    let mut counted = Vec::new();
    for image in [image(b"a"), image(b"a"), image(b"b")] {
        let before = writes();
        registry
            .push(&repository.name, &image, &["git-0123456"])
            .await
            .unwrap();
        counted.push(writes() - before);
    }
    // Layer, config and manifest; nothing; another image's three, its tag moved (a MUTABLE
    // repository, as provision makes it).
    assert_eq!(counted, [3, 0, 3]);
}
