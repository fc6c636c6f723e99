//! One local cloud, two accounts in two regions, kept apart as AWS keeps them: one project
//! deployed in each through the real `cargo xtask`, both served at once, each URL answering its
//! own build, and neither account's credentials seeing the other's function, API, repository or
//! images (issue 27, item 6).
use bgd_aws::SdkCloud;
use bgd_core::{
    cloud::{Account, Apis, Functions},
    image::Registry,
    pipeline::Cloud,
};
use bgd_local::LocalCloud;
use e2e::stack::{Stack, images, path, version_at};

const A: (&str, &str) = ("111111111111", "us-east-1");
const B: (&str, &str) = ("222222222222", "eu-west-1");

/// The SDK on `stack`'s local cloud, as `account` in `region`.
async fn cloud_as(stack: &Stack, (account, region): (&str, &str)) -> SdkCloud {
    let endpoints = LocalCloud::at(stack.local_dir()).endpoints().unwrap();
    SdkCloud::connect(endpoints.target_in(Some(account), region))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_accounts_in_two_regions_deploy_one_project_and_never_see_each_other() {
    let (image_a, image_b) = images();
    let a = Stack::new("accounts-a").as_account(A.0);
    let b = Stack::of("accounts-b", &a.name)
        .as_account(B.0)
        .in_cloud_of(&a);
    b.set_region(B.1);
    let deployed_a = a.ok(&["deploy", "--image", path(image_a)]).await;
    let deployed_b = b.ok(&["deploy", "--image", path(image_b)]).await;

    // Served at once, each stage URL naming its account and region, each its own build.
    let green_a = deployed_a["green_url"].as_str().unwrap();
    let green_b = deployed_b["green_url"].as_str().unwrap();
    assert!(
        green_a.contains(&format!("/.aws/{}/{}/", A.0, A.1)),
        "{green_a}"
    );
    assert!(
        green_b.contains(&format!("/.aws/{}/{}/", B.0, B.1)),
        "{green_b}"
    );
    for (url, build) in [(green_a, "a"), (green_b, "b"), (green_a, "a")] {
        let (status, report) = version_at(url, None).await;
        assert_eq!(
            (status, &report["build"]["id"]),
            (200, &build.into()),
            "{url}: {report}"
        );
        assert_eq!(report["function"], a.name.as_str(), "{report}");
    }

    // Each account sees its own, named by its account and region.
    let (in_a, in_b) = (cloud_as(&a, A).await, cloud_as(&a, B).await);
    assert_eq!(in_a.account_id().await.unwrap(), A.0);
    assert_eq!(in_b.account_id().await.unwrap(), B.0);
    let repository_a = in_a.repository(&a.name).await.unwrap();
    let repository_b = in_b.repository(&a.name).await.unwrap();
    assert!(
        repository_a
            .uri
            .starts_with("111111111111.dkr.ecr.us-east-1."),
        "{repository_a:?}"
    );
    assert!(
        repository_b
            .uri
            .starts_with("222222222222.dkr.ecr.eu-west-1."),
        "{repository_b:?}"
    );
    let api_a = in_a.find_rest_api(&a.name).await.unwrap();
    let api_b = in_b.find_rest_api(&a.name).await.unwrap();
    assert_ne!(api_a.id, api_b.id);

    // Neither account's credentials see the other's function, API or repository: neither in
    // the other's region nor in its own.
    for (account, region) in [(A.0, B.1), (B.0, A.1)] {
        let other = cloud_as(&a, (account, region)).await;
        let missing = [
            other.get_alias(&a.name, "green").await.err(),
            other.find_rest_api(&a.name).await.err(),
            other.repository(&a.name).await.err(),
        ];
        for error in missing {
            let error = error.unwrap_or_else(|| panic!("{account} in {region} sees another's"));
            assert!(error.is_not_found(), "{account} in {region}: {error}");
        }
    }

    // The registry keeps each account's images apart: B's token reads B's image, not A's.
    let digest_a = deployed_a["digest"].as_str().unwrap();
    let digest_b = deployed_b["digest"].as_str().unwrap();
    let registry_b = in_b
        .registry_client(in_b.registry_access().await.unwrap())
        .unwrap();
    assert!(registry_b.has_manifest(&a.name, digest_b).await.unwrap());
    assert!(!registry_b.has_manifest(&a.name, digest_a).await.unwrap());

    // Each account's function logs apart, as CloudWatch keeps each account's log groups: none
    // of them where the default account's would be.
    let local = LocalCloud::at(a.local_dir());
    for (account, region) in [A, B] {
        let log = local.function_log_in(Some(account), region, &a.name);
        let lines = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(lines.contains("/version"), "{}: {lines}", log.display());
    }
    assert!(!local.function_log(&a.name).exists());

    // An invocation error injected into A's green version fails A's requests alone: the data
    // plane keeps each account's function apart (counts and faults too), though both are
    // version 1 of a function of one name behind an alias of one name.
    let endpoints = LocalCloud::at(a.local_dir()).endpoints().unwrap();
    let fault = serde_json::json!({
        "function": a.name, "qualifier": "green", "version": deployed_a["version"].to_string(),
        "share": 1.0, "account": A.0, "region": A.1,
    });
    let injected = bgd_tls::client()
        .post(format!(
            "{}{}",
            endpoints.gateway_url,
            bgd_local::FAULTS_PATH
        ))
        .json(&fault)
        .send()
        .await
        .unwrap();
    assert_eq!(injected.status(), 204);
    assert_eq!(deployed_a["version"], deployed_b["version"]);
    assert_eq!(version_at(green_a, None).await.0, 502);
    assert_eq!(version_at(green_b, None).await.0, 200);

    // The data plane never routes one account's URL to the other's API.
    let crossed = [
        green_a.replace(&api_a.id, &api_b.id),
        green_b.replace(&api_b.id, &api_a.id),
    ];
    for url in crossed {
        let (status, report) = version_at(&url, None).await;
        assert_eq!(status, 403, "{url}: {report}");
    }
}
