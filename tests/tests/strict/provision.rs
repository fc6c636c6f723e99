//! Provision against a cloud as strict as AWS: a pending function, a young role, missing
//! routes, a function left without versions, a stack a failed provision left unfinished.
use bgd_aws::Audit;
use bgd_core::cloud::{Account, Apis, Functions};
use bgd_local::{Endpoints, LocalCloud, front};
use e2e::{
    local::{create_function, push_app_image, set_delays, xtask_binary},
    stack::{Stack, images, path, version_at},
};

/// A stack's local cloud, up, with the front's delays set.
async fn stack_with_delays(name: &str, delays: front::Delays) -> (Stack, Endpoints) {
    let stack = Stack::new(name);
    let endpoints = LocalCloud::at(stack.local_dir())
        .up(&xtask_binary())
        .await
        .unwrap();
    set_delays(&endpoints.front_url, &delays).await;
    (stack, endpoints)
}

#[tokio::test(flavor = "multi_thread")]
async fn provision_waits_out_a_pending_function_and_a_young_role_and_adds_missing_routes() {
    let (image_a, image_b) = images();
    // Lambda and IAM as slow as a real account (scaled down), and a REST API a provision
    // that died half-way left without routes.
    let slow = front::Delays {
        pending_ms: 1500,
        update_ms: 1000,
        role_ms: 2500,
        idle_ms: 600_000,
        stage_ms: 1500,
    };
    let (stack, _) = stack_with_delays("e2e-strict-slow", slow).await;
    stack
        .cloud()
        .await
        .create_rest_api(&stack.name)
        .await
        .unwrap();

    let first = stack.ok(&["provision", "--image", path(image_a)]).await;
    let green_url = first["green_url"].as_str().unwrap().to_owned();
    let (status, report) = version_at(&green_url, None).await;
    assert_eq!((status, report["version"].as_str()), (200, Some("1")));

    stack.ok(&["deploy", "--image", path(image_b)]).await;
    let (_, report) = version_at(&green_url, None).await;
    assert_eq!(report["version"], "2");

    // Lambda may pull the function's images: provision set the repository policy itself.
    let policy = stack
        .cloud()
        .await
        .repository_policy(&stack.name)
        .await
        .unwrap()
        .expect("a repository policy");
    let statement = &policy["Statement"][0];
    assert_eq!(
        statement["Principal"]["Service"], "lambda.amazonaws.com",
        "{policy}"
    );
    // The function and its qualifiers only: `NAME*` let any function named NAME-… pull too.
    let function = format!(
        "arn:aws:lambda:us-east-1:123456789012:function:{}",
        stack.name
    );
    assert_eq!(
        statement["Condition"]["ArnLike"]["aws:sourceArn"],
        serde_json::json!([function, format!("{function}:*")]),
        "{policy}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn provision_publishes_version_1_of_a_function_left_without_versions() {
    let (image_a, _) = images();
    let (stack, endpoints) = stack_with_delays("e2e-strict-resume", front::Delays::default()).await;
    let cloud = stack.cloud().await;
    let repository = cloud.ensure_repository(&stack.name).await.unwrap();
    let image = push_app_image(&endpoints, &repository, "half").await;
    create_function(&cloud, &stack.name, &image).await;

    let first = stack.ok(&["deploy", "--image", path(image_a)]).await;
    let (status, report) = version_at(first["green_url"].as_str().unwrap(), None).await;
    assert_eq!((status, report["version"].as_str()), (200, Some("1")));
    assert_eq!(report["build"]["id"], "a");
}

/// A stack left unfinished after blue verified its version (here: alias green gone) is
/// resumed with that version, whatever image the resuming run brings. Before, the check read
/// the version from ListVersionsByFunction, which names no image (on AWS too): nothing was
/// ever verified, and the resume published version 2 of image b.
#[tokio::test(flavor = "multi_thread")]
async fn provision_resumes_an_unfinished_stack_with_the_version_blue_verified() {
    let (image_a, image_b) = images();
    let stack = Stack::new("e2e-strict-reuse");
    stack.ok(&["provision", "--image", path(image_a)]).await;
    let cloud = stack.cloud().await;
    // DeleteAlias, which no verb sends: the front reads region and service from the
    // signature's scope and checks no signature, as moto.
    let front = LocalCloud::at(stack.local_dir())
        .endpoints()
        .unwrap()
        .front_url;
    let scope = "AWS4-HMAC-SHA256 Credential=local/20261207/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=0";
    let deleted = bgd_tls::client()
        .delete(format!(
            "{front}/2015-03-31/functions/{}/aliases/green",
            stack.name
        ))
        .header("authorization", scope)
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());

    let resumed = stack.ok(&["provision", "--image", path(image_b)]).await;
    let versions: Vec<String> = cloud
        .list_versions(&stack.name)
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(versions, ["1"], "{resumed}");
    let green = cloud.get_alias(&stack.name, "green").await.unwrap();
    assert_eq!(green.target.version, "1");
}
