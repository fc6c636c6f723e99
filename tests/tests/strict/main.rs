//! The local cloud is as strict as AWS where the pipeline depends on it (its front, before
//! moto): states, propagation delays, guards, limits, regions. Each test names the AWS
//! behaviour (docs/aws-behaviours.md) and checks it through the real SDK, or through the real
//! `cargo xtask` binary where a fix in the pipeline is what it proves.
mod provision;

use std::{collections::BTreeMap, time::Duration};

use bgd_aws::SdkCloud;
use bgd_core::cloud::{
    Account, AliasTarget, Apis, FunctionSpec, Functions, ImageRef, Pruning, Stage, VersionState,
};
use bgd_local::front;
use e2e::local::{Running, function_role, ready, set_delays, settings, unique};

/// Sets the front's delays (milliseconds) on a running local cloud.
async fn delays(local: &Running, pending_ms: u64, update_ms: u64, role_ms: u64, idle_ms: u64) {
    let delays = front::Delays {
        pending_ms,
        update_ms,
        role_ms,
        idle_ms,
        stage_ms: 300,
    };
    set_delays(&local.endpoints.front_url, &delays).await;
}

/// Version 1 of a new function, gone idle: the front's idle delay set to 200 ms and passed.
struct Idle {
    function: String,
    image: ImageRef,
    version: String,
    /// Where the data plane asks whether Lambda would run it now.
    invocation: String,
}

async fn idle_version(local: &Running, prefix: &str) -> Idle {
    delays(local, 300, 0, 0, 600_000).await;
    let cloud = &local.cloud;
    let (function, image) = local.function_with_app_image(prefix).await;
    let v1 = cloud
        .publish_version(&function, image.digest_hex(), "v1")
        .await
        .unwrap();
    ready(cloud, &function, &v1.version).await;
    delays(local, 300, 0, 0, 200).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let invocation = format!(
        "{}{}/{}/us-east-1/{function}/{}",
        local.endpoints.front_url,
        front::INVOCATIONS_PATH,
        bgd_local::DEFAULT_ACCOUNT,
        v1.version
    );
    Idle {
        function,
        image,
        version: v1.version,
        invocation,
    }
}

#[tokio::test]
async fn a_new_function_is_pending_without_last_update_status_and_refuses_publishing_meanwhile() {
    let local = Running::up().await;
    delays(&local, 1500, 1500, 0, 600_000).await;
    let cloud = &local.cloud;
    let name = unique("pending");
    let repository = cloud.ensure_repository(&name).await.unwrap();
    let image = local.push_app_image(&repository, "pending").await;
    let role_arn = function_role(cloud, &name).await;
    let created = cloud
        .create_image_function(&FunctionSpec {
            name: name.clone(),
            role_arn,
            image: image.clone(),
            architecture: "x86_64".into(),
            settings: settings("one"),
        })
        .await
        .unwrap();
    // As Lambda answers CreateFunction for an image (no LastUpdateStatus at all).
    assert_eq!(created.state, VersionState::Pending);
    assert_eq!(created.last_update_status, None);
    let early = cloud
        .publish_version(&name, image.digest_hex(), "too early")
        .await
        .unwrap_err();
    assert!(early.is_conflict(), "{early}");

    ready(cloud, &name, "$LATEST").await;
    cloud
        .update_function_configuration(&name, &settings("two"))
        .await
        .unwrap();
    let updating = cloud.get_version(&name, "$LATEST").await.unwrap();
    assert_eq!(updating.last_update_status.as_deref(), Some("InProgress"));
    let busy = cloud
        .update_function_configuration(&name, &settings("three"))
        .await
        .unwrap_err();
    assert!(busy.is_conflict(), "{busy}");

    ready(cloud, &name, "$LATEST").await;
    let published = cloud
        .publish_version(&name, image.digest_hex(), "v1")
        .await
        .unwrap();
    // Published from a settled `$LATEST`: Active at once, as recorded against AWS
    // (tests/conformance/cases/lambda.json, a_version_published_from_a_settled_latest_…).
    assert_eq!(
        cloud
            .get_version(&name, &published.version)
            .await
            .unwrap()
            .state,
        VersionState::Active
    );
    ready(cloud, &name, &published.version).await;
}

#[tokio::test]
async fn an_idle_version_goes_inactive_and_its_first_invocation_fails_then_it_recovers() {
    let local = Running::up().await;
    let cloud = &local.cloud;
    let Idle {
        function,
        version,
        invocation,
        ..
    } = idle_version(&local, "idle").await;
    let idle = cloud.get_version(&function, &version).await.unwrap();
    assert_eq!(idle.state, VersionState::Inactive);

    let http = bgd_tls::client();
    let first = http.post(&invocation).send().await.unwrap().status();
    assert_eq!(
        first, 502,
        "the first invocation of an Inactive version fails"
    );
    let waking = cloud.get_version(&function, &version).await.unwrap();
    assert_eq!(waking.state, VersionState::Pending);
    delays(&local, 300, 0, 0, 600_000).await;
    ready(cloud, &function, &version).await;
    assert_eq!(http.post(&invocation).send().await.unwrap().status(), 200);
}

/// aws-behaviours row 50 (aws-audit-3 N4): an idle version whose image was deleted from ECR
/// cannot be restored: its first invocation fails, as any idle version's, and it is Failed for
/// good, not Pending and then Active on an image that no longer exists.
#[tokio::test]
async fn an_idle_version_whose_image_was_deleted_fails_for_good() {
    let local = Running::up().await;
    let cloud = &local.cloud;
    let idle = idle_version(&local, "gone").await;
    let function = &idle.function;
    cloud
        .delete_image(function, &idle.image.digest)
        .await
        .unwrap();

    let http = bgd_tls::client();
    assert_eq!(
        http.post(&idle.invocation).send().await.unwrap().status(),
        502
    );
    delays(&local, 300, 0, 0, 600_000).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let failed = cloud.get_version(function, &idle.version).await.unwrap();
    assert_eq!(failed.state, VersionState::Failed);
    assert_eq!(
        http.post(&idle.invocation).send().await.unwrap().status(),
        502
    );
}

#[tokio::test]
async fn revision_id_and_code_sha256_guards_are_enforced_by_the_local_cloud() {
    let local = Running::up().await;
    let cloud = &local.cloud;
    let (function, image) = local.function_with_app_image("guards").await;
    let other = "0".repeat(64);
    let refused = cloud
        .publish_version(&function, &other, "other code")
        .await
        .unwrap_err();
    // aws-behaviours row 7: InvalidParameterValueException (400), as AWS answers; the front
    // answered PreconditionFailed (412) before.
    assert!(!refused.is_precondition_failed(), "{refused}");
    assert!(
        refused
            .to_string()
            .contains("is different from current CodeSHA256"),
        "{refused}"
    );
    let v1 = cloud
        .publish_version(&function, image.digest_hex(), "v1")
        .await
        .unwrap();
    let target = AliasTarget::version(&v1.version);
    let alias = cloud
        .create_alias(&function, "green", &target, "")
        .await
        .unwrap();
    let read = alias
        .revision_id
        .clone()
        .expect("an alias has a RevisionId");
    let moved = cloud
        .update_alias(&function, "green", &target, Some("moved"), Some(&read))
        .await
        .unwrap();
    assert_ne!(moved.revision_id.as_deref(), Some(read.as_str()));
    let stale = cloud
        .update_alias(&function, "green", &target, Some("stale"), Some(&read))
        .await
        .unwrap_err();
    assert!(stale.is_precondition_failed(), "{stale}");
}

// aws-behaviours row 45: moto 5.2.5 does this itself; the test holds the local cloud to it
// (the simulation's cloud published version 2 until it applied the same rule).
#[tokio::test]
async fn a_publish_with_no_update_since_the_last_version_answers_that_version() {
    let local = Running::up().await;
    let cloud = &local.cloud;
    let (function, image) = local.function_with_app_image("republish").await;
    let publish = |description: &'static str| {
        cloud.publish_version(&function, image.digest_hex(), description)
    };
    let first = publish("first").await.unwrap();
    let again = publish("again").await.unwrap();
    assert_eq!(
        again.version, first.version,
        "nothing changed: the same version"
    );
    assert_eq!(again.description, "first", "as it was published");
    // Any update counts, even one that sets what `$LATEST` already has.
    cloud
        .update_function_configuration(&function, &settings("one"))
        .await
        .unwrap();
    ready(cloud, &function, "$LATEST").await;
    let after_update = publish("after an update").await.unwrap();
    assert_ne!(after_update.version, first.version);
    let versions = cloud.list_versions(&function).await.unwrap();
    assert_eq!(versions.len(), 2, "{versions:?}");
}

#[tokio::test]
async fn limits_names_and_regions_are_as_on_aws() {
    let local = Running::up().await;
    let cloud = &local.cloud;
    let (function, image) = local.function_with_app_image("limits").await;

    let mut big = settings("big");
    big.environment.insert(
        "SECRET".into(),
        format!("s3cr3t{}", "x".repeat(4100)).into(),
    );
    let err = cloud
        .update_function_configuration(&function, &big)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("exceeded the 4KB limit") && err.contains("s3cr3t"),
        "{err}"
    );
    let long = "d".repeat(257);
    let err = cloud
        .publish_version(&function, image.digest_hex(), &long)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("256"), "{err}");
    let err = cloud
        .create_alias(&function, "7", &AliasTarget::version("$LATEST"), "")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("pattern"), "{err}");

    let api = cloud.create_rest_api(&function).await.unwrap();
    let deployment =
        cloud.put_lambda_proxy_routes(&api, "arn:aws:lambda:us-east-1:123456789012:function:x");
    deployment.await.unwrap();
    let deployment_id = cloud.create_deployment(&api.id, "limits").await.unwrap();
    let err = cloud
        .create_stage(
            &api.id,
            &Stage {
                name: "blue".into(),
                deployment_id,
                variables: BTreeMap::from([("verify-token".to_owned(), "a b".to_owned())]),
                description: String::new(),
            },
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("Stage variable"), "{err}");

    // The same local cloud asked for another region knows nothing of this one's.
    let elsewhere = SdkCloud::connect(local.endpoints.target_in(None, "eu-west-1"))
        .await
        .unwrap();
    let missing = elsewhere
        .get_version(&function, "$LATEST")
        .await
        .unwrap_err();
    assert!(missing.is_not_found(), "{missing}");
}

#[tokio::test]
async fn each_blob_is_uploaded_once_in_one_put() {
    let local = Running::up().await;
    let name = unique("blobs");
    let repository = local.cloud.ensure_repository(&name).await.unwrap();
    local.push_app_image(&repository, "blobs").await;
    let log = local.log("registry.log");
    let uploads = |method: &str| {
        log.lines()
            .filter(|l| l.contains(&format!("\"{method} /v2/{name}/blobs/uploads/")))
            .count()
    };
    // A layer and a config: two uploads started, two PUTs with the data, no PATCH chunks.
    assert_eq!(
        (uploads("POST"), uploads("PUT"), uploads("PATCH")),
        (2, 2, 0),
        "{log}"
    );
}

/// docs/aws-behaviours.md row 53: an image named by tag runs the digest Lambda resolved it to
/// (recorded: LocalStack's AWS-validated test_lambda_image_crud, `ImageUri: REPO:latest`
/// beside `ResolvedImageUri: REPO@sha256:…` and CodeSha256 the digest's hex); a tag the
/// registry does not hold is refused.
#[tokio::test]
async fn a_function_named_by_tag_runs_the_digest_lambda_resolved_it_to() {
    let local = Running::up().await;
    delays(&local, 0, 0, 0, 600_000).await;
    let cloud = &local.cloud;
    let name = unique("bytag");
    let repository = cloud.ensure_repository(&name).await.unwrap();
    let first = local.push_app_image(&repository, "first").await;
    let second = local.push_app_image(&repository, "second").await;
    let role = function_role(cloud, &name).await;
    let tagged = |tag: &str| format!("{}/{}:{tag}", first.registry, first.repository);
    let post = reqwest::Method::POST;
    let missing = serde_json::json!({"FunctionName": name, "Role": role, "PackageType": "Image",
        "Code": {"ImageUri": tagged("nope")}});
    let refused = local.lambda_call(post.clone(), "", missing).await;
    assert_eq!(refused.status(), 400, "{}", refused.text().await.unwrap());
    let create = serde_json::json!({"FunctionName": name, "Role": role, "PackageType": "Image",
        "Code": {"ImageUri": tagged("first")}});
    let created = local.lambda_call(post, "", create).await;
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());

    ready(cloud, &name, "$LATEST").await;
    let latest = cloud.get_version(&name, "$LATEST").await.unwrap();
    assert_eq!(latest.image.as_ref(), Some(&first));
    assert_eq!(latest.code_sha256, first.digest_hex());
    let raw: serde_json::Value = local
        .lambda_call(reqwest::Method::GET, &name, serde_json::Value::Null)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(raw["Code"]["ImageUri"], tagged("first"), "{raw}");

    let update = serde_json::json!({"ImageUri": tagged("second")});
    let updated = local
        .lambda_call(reqwest::Method::PUT, &format!("{name}/code"), update)
        .await;
    assert_eq!(updated.status(), 200, "{}", updated.text().await.unwrap());
    ready(cloud, &name, "$LATEST").await;
    let latest = cloud.get_version(&name, "$LATEST").await.unwrap();
    assert_eq!(latest.image.as_ref(), Some(&second));
    let published = cloud
        .publish_version(&name, second.digest_hex(), "by tag")
        .await
        .unwrap();
    let version = cloud.get_version(&name, &published.version).await.unwrap();
    assert_eq!(version.image.as_ref(), Some(&second));
}
