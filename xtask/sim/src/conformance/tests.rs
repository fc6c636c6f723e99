//! The simulation's answers against every recorded case it can express, in `cargo test`: the
//! in-memory AWS cannot drift from AWS's recordings unnoticed between `cargo xtask test` runs.
use std::future::Future;

use bgd_rules::conformance::{DELAYS, Model, Verdict};
use serde_json::{Value, json};

use super::SimModel;

/// Runs `test` on tokio's paused clock, as the simulation's world runs.
fn paused(test: impl Future<Output = ()>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(test);
}

/// A model (seed 1) with repository `r`, as CreateRepository made it; and the body naming it.
async fn with_repository_r() -> (SimModel, Value) {
    let mut model = SimModel::new(1, DELAYS);
    let repository = json!({"repositoryName": "r"});
    let created = model.call("CreateRepository", &repository).await.unwrap();
    assert_eq!(created.status, 200);
    (model, repository)
}

#[test]
fn the_simulations_aws_answers_every_recorded_case_it_can_express_as_recorded() {
    let cases = bgd_core::setup::conformance_cases().unwrap();
    let only: Vec<_> = cases.iter().map(|(_, case)| case.clone()).collect();
    let verdicts = super::conformance(&only, DELAYS).unwrap();
    let failed: Vec<String> = cases
        .iter()
        .zip(&verdicts)
        .filter_map(|((service, case), verdict)| match verdict {
            Verdict::Failed(why) => Some(format!("{service}/{}: {why}", case.name)),
            _ => None,
        })
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
    // Every case runs here since 2026-12-07 (the issue's bar: 95 % of the cases pass against
    // each model, and a skip is no pass): a call the simulation does not answer fails here,
    // and a case it cannot run says why in its `skip`.
    let unanswered: Vec<String> = cases
        .iter()
        .zip(&verdicts)
        .filter(|((_, case), _)| !case.skip.contains_key("sim"))
        .filter_map(|((service, case), verdict)| match verdict {
            Verdict::Skipped(why) => Some(format!("{service}/{}: {why}", case.name)),
            _ => None,
        })
        .collect();
    assert!(unanswered.is_empty(), "{unanswered:#?}");
}

/// AWS's ListVersionsByFunction names no State (recorded: test_lambda_image_versions
/// list_versions_result), and the boundary reads a missing one as Active: an idle version the
/// pipeline reads from the list is Active on AWS, so it must be in the simulation too, or a
/// pipeline that trusted the list's state would pass here and fail there.
#[test]
fn a_listed_version_reads_as_the_boundary_reads_awss_list_active_and_without_image_even_idle() {
    paused(async {
        let mut model = SimModel::new(1, DELAYS);
        let (function, image) = ("f", format!("sim.registry/r@sha256:{}", "a".repeat(64)));
        let create = json!({"FunctionName": function, "Role": "r", "Code": {"ImageUri": image}});
        assert_eq!(
            model.call("CreateFunction", &create).await.unwrap().status,
            201
        );
        model.settle().await;
        let publish = json!({"FunctionName": function});
        assert_eq!(
            model.call("PublishVersion", &publish).await.unwrap().status,
            201
        );
        // Past Lambda's idle time (the model's `idle_ms`): version 1 is Inactive.
        tokio::time::sleep(std::time::Duration::from_millis(DELAYS.idle_ms + 1_000)).await;
        let get = json!({"FunctionName": function, "Qualifier": "1"});
        let got = model.call("GetFunctionConfiguration", &get).await.unwrap();
        assert_eq!(got.body["State"], "Inactive", "{}", got.body);
        let list = json!({"FunctionName": function});
        let listed = model.call("ListVersionsByFunction", &list).await.unwrap();
        let first = &listed.body["Versions"][0];
        assert!(first.get("State").is_none(), "{}", listed.body);
        assert!(first.get("Code").is_none() && first.get("LastUpdateStatus").is_none());
        use bgd_core::cloud::{Functions, VersionState};
        let read = model.cloud.list_versions(function).await.unwrap();
        assert_eq!(read[0].state, VersionState::Active);
    });
}

/// aws-behaviours row 50 in the simulation, by the same rule as the local cloud
/// (`bgd_rules::lambda::invoke`): the first request to an idle version fails either way; then
/// it warms up (Pending) when ECR still holds its image, and is Failed for good when not.
#[test]
fn an_idle_version_whose_image_is_gone_fails_for_good_and_one_whose_image_is_held_warms_up() {
    use bgd_core::{
        cloud::{AliasTarget, Apis, Functions, Stage, VersionState},
        pipeline::ALIAS_VARIABLE,
        probe::Request,
    };
    use std::{collections::BTreeMap, time::Duration};

    async fn after_a_request_to_it_idle(seed: u64, held: bool) -> VersionState {
        let mut model = SimModel::new(seed, DELAYS);
        let image = format!("sim.registry/r@sha256:{}", "a".repeat(64));
        let create =
            serde_json::json!({"FunctionName": "f", "Role": "r", "Code": {"ImageUri": image}});
        assert_eq!(
            model.call("CreateFunction", &create).await.unwrap().status,
            201
        );
        let (c, function) = (&model.cloud, "f");
        tokio::time::sleep(Duration::from_millis(DELAYS.pending_ms + 1)).await;
        let v1 = c
            .publish_version(function, &"a".repeat(64), "")
            .await
            .unwrap();
        c.create_alias(function, "green", &AliasTarget::version(&v1.version), "")
            .await
            .unwrap();
        let api = c.create_rest_api("api").await.unwrap();
        let deployment = c.create_deployment(&api.id, "d").await.unwrap();
        let stage = Stage {
            name: "green".into(),
            deployment_id: deployment,
            variables: BTreeMap::from([(ALIAS_VARIABLE.into(), "green".into())]),
            description: String::new(),
        };
        c.create_stage(&api.id, &stage).await.unwrap();
        if held {
            c.world()
                .images
                .manifests
                .insert(format!("sha256:{}", "a".repeat(64)));
        }
        tokio::time::sleep(Duration::from_millis(DELAYS.idle_ms + 1_000)).await;
        let request = Request {
            method: "GET".into(),
            url: format!("{}/restapis/{}/green/", crate::world::GATEWAY, api.id),
            headers: Vec::new(),
            body: None,
        };
        let answer = crate::app::answer(&mut c.world(), &request).unwrap();
        assert_eq!(answer.status, 502, "an idle version's first request fails");
        c.get_version(function, &v1.version).await.unwrap().state
    }

    paused(async {
        assert_eq!(
            after_a_request_to_it_idle(1, true).await,
            VersionState::Pending
        );
        assert_eq!(
            after_a_request_to_it_idle(2, false).await,
            VersionState::Failed
        );
    });
}

/// ECR removes a tag named in BatchDeleteImage, and the image only with its last tag
/// (API_BatchDeleteImage): the local registry cannot remove one tag of several (the front
/// refuses it), so this half of the rule is the simulation's alone to show.
#[test]
fn a_tag_deleted_from_an_image_with_another_leaves_the_image_under_the_other() {
    paused(async {
        let (mut model, _) = with_repository_r().await;
        let mut digest = None;
        for tag in ["v1", "v2"] {
            let push = json!({"repositoryName": "r", "imageTag": tag});
            let pushed = model.call("PushImage", &push).await.unwrap();
            digest = pushed.body["imageDigest"].as_str().map(str::to_owned);
        }
        let delete = json!({"repositoryName": "r", "imageIds": [{"imageTag": "v1"}]});
        let deleted = model.call("BatchDeleteImage", &delete).await.unwrap();
        assert_eq!(
            deleted.body["imageIds"][0]["imageTag"], "v1",
            "{}",
            deleted.body
        );
        let describe = json!({"repositoryName": "r", "imageIds": [{"imageDigest": digest}]});
        let described = model.call("DescribeImages", &describe).await.unwrap();
        assert_eq!(
            described.body["imageDetails"][0]["imageTags"],
            json!(["v2"])
        );
    });
}

/// Provision's `allow_lambda_pull` leaves the repository policy as it leaves it on AWS
/// (aws-audit-3 N7): an administrator's statement kept, Lambda's put in beside it, as
/// GetRepositoryPolicy then answers it.
#[test]
fn provisions_pull_permission_joins_the_statements_a_repository_policy_already_has() {
    use bgd_core::cloud::{Account, LAMBDA_PULL};

    paused(async {
        let (mut model, repository) = with_repository_r().await;
        let admin = json!({"Version": "2012-10-17", "Statement": [{"Sid": "Admin"}]});
        let set = json!({"repositoryName": "r", "policyText": admin.to_string()});
        assert_eq!(
            model
                .call("SetRepositoryPolicy", &set)
                .await
                .unwrap()
                .status,
            200
        );
        model
            .cloud
            .allow_lambda_pull("r", "arn:aws:lambda:us-east-1:1:function:f")
            .await
            .unwrap();
        let got = model
            .call("GetRepositoryPolicy", &repository)
            .await
            .unwrap();
        let policy: Value = serde_json::from_str(got.body["policyText"].as_str().unwrap()).unwrap();
        let sids: Vec<&str> = policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["Sid"].as_str())
            .collect();
        assert_eq!(sids, ["Admin", LAMBDA_PULL], "{policy}");
    });
}
