//! The local cloud end to end: real moto, real registry, the gateway and the release bootstrap
//! as real processes. State is set up through the cloud module, then observed over HTTP.
mod accounts;
mod clients;
mod registry;
mod routing;
mod traffic;
mod versions;

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use bgd_core::cloud::{Account, AliasTarget, Apis, Functions, Stage};
use e2e::local::{
    Running, api_with_stage, create_function, deploy_two_versions, idle_instances, ready, served,
    settings, stage_url, unique, version,
};
use serde_json::Value;

#[tokio::test]
async fn the_stage_reports_the_alias_version_and_moving_the_alias_switches_the_next_response() {
    let local = Running::up().await;
    let deployed = deploy_two_versions(&local, &unique("fn")).await;
    let http = bgd_tls::client();
    let url = stage_url(&local, &deployed.api, "green", "/version");

    let report = version(&http, &url).await;
    assert_eq!(report["version"], "1");
    assert_eq!(report["alias"], "green");
    assert_eq!(report["stage"], "green");
    assert_eq!(report["function"], deployed.function.as_str());

    // The version's own Environment, the request body and the headers reach the function.
    let greet = http
        .post(stage_url(&local, &deployed.api, "green", "/greet"))
        .body(r#"{"name":"local"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(greet.headers()["x-app-version"], "1");
    assert_eq!(greet.headers()["x-app-alias"], "green");
    assert_eq!(greet.text().await.unwrap(), r#"{"message":"one, local"}"#);

    local
        .cloud
        .update_alias(
            &deployed.function,
            "green",
            &AliasTarget::version("2"),
            None,
            None,
        )
        .await
        .unwrap();
    let moved = Instant::now();
    loop {
        if version(&http, &url).await["version"] == "2" {
            break;
        }
        // Control-plane reads are cached for at most a second.
        assert!(
            moved.elapsed() < Duration::from_secs(3),
            "the alias move was not seen"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let root: Value = http
        .get(stage_url(&local, &deployed.api, "green", "/"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(root["message"], "two");
    let log = local.log(&format!("functions/{}.log", deployed.function));
    assert!(
        log.contains("/version"),
        "the function's log lines: {log:?}"
    );
}

#[tokio::test]
async fn each_version_reports_the_image_it_was_published_with() {
    let local = Running::up().await;
    let deployed = deploy_two_versions(&local, &unique("fn")).await;
    for (version, image) in ["1", "2"].iter().zip(&deployed.images) {
        let found = local
            .cloud
            .get_version(&deployed.function, version)
            .await
            .unwrap();
        assert_eq!(found.image.as_ref(), Some(image), "version {version}");
    }
    let by_alias = local
        .cloud
        .get_version(&deployed.function, "green")
        .await
        .unwrap();
    assert_eq!(by_alias.version, "1");
    assert_eq!(by_alias.image.as_ref(), Some(&deployed.images[0]));
}

#[tokio::test]
async fn a_killed_instance_gives_502_then_the_next_request_recovers() {
    let local = Running::up().await;
    let deployed = deploy_two_versions(&local, &unique("fn")).await;
    let http = bgd_tls::client();
    let url = stage_url(&local, &deployed.api, "green", "/version");
    version(&http, &url).await;
    let pids = idle_instances(&http, &local).await;
    assert_eq!(pids.len(), 1, "one warm instance after one request");
    e2e::process::kill(pids[0], libc::SIGKILL);
    e2e::process::until_dead(pids[0]).await;

    let crashed = http.get(&url).send().await.unwrap();
    assert_eq!(crashed.status(), 502);
    assert_eq!(
        crashed.text().await.unwrap(),
        r#"{"message":"Internal server error"}"#
    );
    assert_eq!(version(&http, &url).await["version"], "1");
    let replacement = idle_instances(&http, &local).await;
    assert_eq!(replacement.len(), 1);
    assert_ne!(replacement[0], pids[0]);
}

#[tokio::test]
async fn an_unknown_stage_or_api_is_403_forbidden() {
    let local = Running::up().await;
    let deployed = deploy_two_versions(&local, &unique("fn")).await;
    let http = bgd_tls::client();
    for url in [
        stage_url(&local, &deployed.api, "nope", "/version"),
        local.url("/restapis/doesnotexist/green/_user_request_/version"),
        local.url("/"),
    ] {
        let response = http.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 403, "{url}");
        assert_eq!(
            response.text().await.unwrap(),
            r#"{"message":"Forbidden"}"#,
            "{url}"
        );
    }
    // (An unknown route cannot exist beside `ANY /{proxy+}`; routing's unit tests cover it.)
    // The deployed stage still answers: the 403s are about the names, not the gateway.
    version(
        &http,
        &stage_url(&local, &deployed.api, "green", "/version"),
    )
    .await;

    // A stage just created answers as an unknown one until it propagated, as on AWS.
    let green = local
        .cloud
        .get_stage(&deployed.api.id, "green")
        .await
        .unwrap();
    let late = Stage {
        name: "late".into(),
        ..green
    };
    local
        .cloud
        .create_stage(&deployed.api.id, &late)
        .await
        .unwrap();
    let url = stage_url(&local, &deployed.api, "late", "/version");
    assert_eq!(
        http.get(&url).send().await.unwrap().status(),
        403,
        "propagating"
    );
    served(&local, &deployed.api, "late").await;
    version(&http, &url).await;
}

#[tokio::test]
async fn a_version_whose_image_is_missing_is_502_and_the_gateway_log_names_the_digest() {
    let local = Running::up().await;
    let name = unique("ghost");
    let repository = local.cloud.ensure_repository(&name).await.unwrap();
    let never_pushed = repository.image(&format!("sha256:{}", "0".repeat(64)));
    let function = create_function(&local.cloud, &name, &never_pushed).await;
    local
        .cloud
        .create_alias(&function, "green", &AliasTarget::version("$LATEST"), "")
        .await
        .unwrap();
    let api = api_with_stage(&local, &function, "green").await;
    let http = bgd_tls::client();
    let response = http
        .get(stage_url(&local, &api, "green", "/version"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    let log = local.log("gateway.log");
    assert!(log.contains(&never_pushed.digest), "gateway log: {log}");
}

#[tokio::test]
async fn the_api_deploy_toml_names_answers_at_stage_slash_path() {
    let local = Running::up().await;
    let config = bgd_core::config::Config::load().unwrap();
    let deployed = deploy_two_versions(&local, config.api_name()).await;
    assert_eq!(deployed.api.name, config.api_name());
    let http = bgd_tls::client();
    let report = version(&http, &local.url("/green/version")).await;
    assert_eq!(
        (report["version"].as_str(), report["stage"].as_str()),
        (Some("1"), Some("green"))
    );
    let root: Value = http
        .get(local.url("/green"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(root["message"], "one");
}

#[tokio::test]
async fn cloud_errors_are_typed_and_a_second_create_stage_conflicts_like_the_deploy_lock() {
    let local = Running::up().await;
    let deployed = deploy_two_versions(&local, &unique("fn")).await;
    let cloud = &local.cloud;
    let missing_alias = cloud
        .get_alias(&deployed.function, "blue")
        .await
        .unwrap_err();
    assert!(missing_alias.is_not_found(), "{missing_alias}");
    let missing_function = cloud
        .get_version("no-such-function", "1")
        .await
        .unwrap_err();
    assert!(missing_function.is_not_found(), "{missing_function}");
    let missing_stage = cloud.get_stage(&deployed.api.id, "blue").await.unwrap_err();
    assert!(missing_stage.is_not_found(), "{missing_stage}");

    let green = cloud.get_stage(&deployed.api.id, "green").await.unwrap();
    let lock = Stage {
        name: "blue".into(),
        deployment_id: green.deployment_id.clone(),
        variables: BTreeMap::from([("alias".to_owned(), "green".to_owned())]),
        description: "held by this test".into(),
    };
    cloud.create_stage(&deployed.api.id, &lock).await.unwrap();
    let taken = cloud
        .create_stage(&deployed.api.id, &lock)
        .await
        .unwrap_err();
    assert!(taken.is_conflict(), "{taken}");
    cloud.delete_stage(&deployed.api.id, "blue").await.unwrap();
    let gone = cloud.get_stage(&deployed.api.id, "blue").await.unwrap_err();
    assert!(gone.is_not_found(), "{gone}");
}

#[tokio::test]
async fn a_function_timeout_is_502_and_504_comes_only_past_the_29_s_integration_limit() {
    let local = Running::up().await;
    let name = unique("sleeper");
    let cloud = &local.cloud;
    let repository = cloud.ensure_repository(&name).await.unwrap();
    // A function that sleeps through every invocation (tests/fixtures).
    let hangs = e2e::misbehave("x86_64-unknown-linux-musl");
    let image = local.push_image(&repository, &hangs, "hangs").await;
    let sleeping = |greeting| {
        let mut settings = settings(greeting);
        settings.environment.extend([
            ("MISBEHAVE".to_owned(), "sleep".to_owned().into()),
            ("SLEEP_SECONDS".to_owned(), "120".to_owned().into()),
        ]);
        settings
    };
    let function = create_function(&local.cloud, &name, &image).await;
    // A version that sleeps with this timeout.
    let publish = async |greeting, timeout_s, description| {
        let mut settings = sleeping(greeting);
        settings.timeout = Duration::from_secs(timeout_s);
        cloud
            .update_function_configuration(&function, &settings)
            .await
            .unwrap();
        ready(cloud, &function, "$LATEST").await;
        cloud
            .publish_version(&function, image.digest_hex(), description)
            .await
            .unwrap()
    };
    let v1 = publish("short", 2, "2 s").await;
    let v2 = publish("long", 60, "60 s").await;
    cloud
        .create_alias(&function, "short", &AliasTarget::version(v1.version), "")
        .await
        .unwrap();
    cloud
        .create_alias(&function, "long", &AliasTarget::version(v2.version), "")
        .await
        .unwrap();
    let api = api_with_stage(&local, &function, "short").await;
    let green = cloud.get_stage(&api.id, "short").await.unwrap();
    let long_stage = Stage {
        name: "long".into(),
        deployment_id: green.deployment_id,
        variables: BTreeMap::from([("alias".to_owned(), "long".to_owned())]),
        description: String::new(),
    };
    cloud.create_stage(&api.id, &long_stage).await.unwrap();
    served(&local, &api, "long").await;

    let http = bgd_tls::client();
    let (short, long) = tokio::join!(
        timed(&http, stage_url(&local, &api, "short", "/")),
        timed(&http, stage_url(&local, &api, "long", "/")),
    );
    assert_eq!(short.0, 502, "the 2 s function timeout");
    assert!((2..10).contains(&short.1.as_secs()), "{:?}", short.1);
    assert_eq!(long.0, 504, "the 29 s integration limit");
    assert!((29..40).contains(&long.1.as_secs()), "{:?}", long.1);
}

/// The status of a GET and how long it took.
async fn timed(http: &reqwest::Client, url: String) -> (u16, Duration) {
    let start = Instant::now();
    let status = http.get(&url).send().await.unwrap().status().as_u16();
    (status, start.elapsed())
}
