//! Traffic through an alias: weights split it as configured, and injected invocation errors
//! fail only their version and are counted per version, read as a rollout reads them: through
//! CloudWatch's GetMetricData with the real SDK (Smithy RPC v2 CBOR), which the front serves.
use std::{
    collections::{BTreeMap, HashMap},
    time::Duration,
};

use bgd_core::{
    cloud::{AliasTarget, Functions},
    health::Traffic,
};
use e2e::local::{
    Running, api_with_stage, deploy_two_versions, inject_errors, stage_url, unique, version,
};

#[tokio::test]
async fn a_ten_percent_weight_gets_its_share_within_five_standard_deviations_over_1000_requests() {
    let local = Running::up().await;
    let deployed = deploy_two_versions(&local, &unique("fn")).await;
    let split = AliasTarget {
        version: "1".into(),
        additional_weights: BTreeMap::from([("2".to_owned(), 0.1)]),
    };
    local
        .cloud
        .update_alias(&deployed.function, "green", &split, None, None)
        .await
        .unwrap();
    // Control-plane reads are cached for at most a second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let since = std::time::SystemTime::now();
    let http = bgd_tls::client();
    let url = stage_url(&local, &deployed.api, "green", "/version");
    const REQUESTS: u64 = 1000;
    let mut seen: HashMap<String, u64> = HashMap::new();
    for _ in 0..REQUESTS {
        let report = version(&http, &url).await;
        *seen
            .entry(report["version"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    // Binomial(1000, 0.1): mean 100, standard deviation 9.5; outside 100 ± 47 (5 sd) has
    // odds below 1e-6 under a fair split.
    let canary = seen.get("2").copied().unwrap_or(0);
    assert!((53..=147).contains(&canary), "{seen:?}");
    assert_eq!(seen.get("1").copied().unwrap_or(0) + canary, REQUESTS);
    eprintln!("split: {canary} of {REQUESTS} on the 10% version");
    // The data plane's own counts (the rollout's real-traffic signal) agree with the answers.
    let versions = ["1".to_owned(), "2".to_owned()];
    let counts = local
        .cloud
        .traffic()
        .by_version(&deployed.function, "green", &versions, since)
        .await
        .unwrap();
    assert_eq!(counts["2"].invocations, canary, "{counts:?}");
    assert_eq!(counts["1"].invocations, REQUESTS - canary, "{counts:?}");
    assert_eq!(counts["1"].errors + counts["2"].errors, 0, "{counts:?}");
}

#[tokio::test]
async fn injected_invocation_errors_fail_only_their_version_through_their_alias_and_are_counted() {
    let local = Running::up().await;
    let deployed = deploy_two_versions(&local, &unique("fn")).await;
    let since = std::time::SystemTime::now();
    inject_errors(&local, &deployed.function, "green", "1", 1.0).await;
    let http = bgd_tls::client();
    let green = stage_url(&local, &deployed.api, "green", "/version");
    for _ in 0..5 {
        assert_eq!(http.get(&green).send().await.unwrap().status(), 502);
    }
    // The same version through another alias runs as before.
    local
        .cloud
        .create_alias(&deployed.function, "blue", &AliasTarget::version("1"), "")
        .await
        .unwrap();
    let blue_api = api_with_stage(&local, &deployed.function, "blue").await;
    let blue = stage_url(&local, &blue_api, "blue", "/version");
    assert_eq!(version(&http, &blue).await["version"], "1");
    let traffic = local.cloud.traffic();
    let versions = ["1".to_owned()];
    let counts = traffic
        .by_version(&deployed.function, "green", &versions, since)
        .await
        .unwrap();
    assert_eq!((counts["1"].invocations, counts["1"].errors), (5, 5));
    let counts = traffic
        .by_version(&deployed.function, "blue", &versions, since)
        .await
        .unwrap();
    assert_eq!((counts["1"].invocations, counts["1"].errors), (1, 0));
    inject_errors(&local, &deployed.function, "green", "1", 0.0).await;
    assert_eq!(version(&http, &green).await["version"], "1");
}
