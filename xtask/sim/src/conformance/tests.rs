//! The simulation's answers against every recorded case it can express, in `cargo test`: the
//! in-memory AWS cannot drift from AWS's recordings unnoticed between `cargo xtask test` runs.
use bgd_rules::conformance::{DELAYS, Verdict};

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
    let passed = verdicts.iter().filter(|v| **v == Verdict::Passed).count();
    assert!(failed.is_empty(), "{failed:#?}");
    // As many as ran on 2026-12-07: a case that stops running here must be skipped by name.
    assert!(passed >= 33, "only {passed} cases ran in the simulation");
}

/// AWS's ListVersionsByFunction names no State (recorded: test_lambda_image_versions
/// list_versions_result), and the boundary reads a missing one as Active: an idle version the
/// pipeline reads from the list is Active on AWS, so it must be in the simulation too, or a
/// pipeline that trusted the list's state would pass here and fail there.
#[test]
fn a_listed_version_reads_as_the_boundary_reads_awss_list_active_and_without_image_even_idle() {
    use bgd_rules::conformance::Model;
    use serde_json::json;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut model = super::SimModel::new(1, DELAYS);
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
        assert_eq!(first["State"], "Active", "{}", listed.body);
        assert!(first.get("Code").is_none() && first.get("LastUpdateStatus").is_none());
    });
}
