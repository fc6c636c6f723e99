//! Read-only verbs and every dry run make zero write calls, cloud and registry.
use e2e::stack::{Stack, images, path};

/// `status`, `history`, `verify` and every `--dry-run` (deploy, rollback, provision, destroy)
/// send no write, to AWS or to the registry: the write meter (the SDK interceptor, and the
/// registry client metered with it) reads 0 after each, and reads 1 after one registry write.
#[tokio::test(flavor = "multi_thread")]
async fn read_only_verbs_and_dry_runs_make_zero_write_calls() {
    use bgd_core::{
        config::Config,
        image::{Built, Registry},
        pipeline::{self, Ctx, deploy, destroy, history, provision, rollback, status},
        probe::Prober,
        progress::Progress,
    };
    use bgd_local::LocalCloud;
    use std::time::Duration;

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
        prober: Prober::new(bgd_aws::HttpClient::default()),
        deadline: tokio::time::Instant::now() + Duration::from_secs(120),
        credentials_expire: None,
        hand_off: false,
        green_writes: Default::default(),
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
    history::history(&ctx).await.unwrap();
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
