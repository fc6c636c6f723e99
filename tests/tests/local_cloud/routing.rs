//! An alias's routing configuration as Lambda restricts it (docs/aws-behaviours.md row 40):
//! the strict front refuses, through the real SDK, every configuration AWS refuses, and the
//! alias stays as it was.
use std::collections::BTreeMap;

use bgd_core::cloud::{Account, AliasTarget, Functions};
use e2e::local::{Running, ready};
use serde_json::{Value, json};

/// `$LATEST`'s configuration changed, then published as a new version.
async fn publish_with(local: &Running, function: &str, digest_hex: &str, change: Value) -> String {
    let changed = local
        .lambda_call(
            reqwest::Method::PUT,
            &format!("{function}/configuration"),
            change,
        )
        .await;
    assert!(changed.status().is_success(), "{:?}", changed.text().await);
    ready(&local.cloud, function, "$LATEST").await;
    let published = local
        .cloud
        .publish_version(function, digest_hex, "routing")
        .await
        .unwrap();
    published.version
}

fn split(main: &str, weights: &[(&str, f64)]) -> AliasTarget {
    AliasTarget {
        version: main.into(),
        additional_weights: weights.iter().map(|(v, w)| ((*v).to_owned(), *w)).collect(),
    }
}

#[tokio::test]
async fn an_alias_routing_configuration_aws_refuses_is_refused_and_leaves_the_alias_unchanged() {
    let local = Running::up().await;
    let cloud = &local.cloud;
    let (function, image) = local.function_with_app_image("routing").await;
    let configuration = format!("{function}/configuration");
    let latest: Value = local
        .lambda_call(reqwest::Method::GET, &configuration, Value::Null)
        .await
        .json()
        .await
        .unwrap();
    let role = latest["Role"].as_str().expect("a Role").to_owned();
    let hex = image.digest_hex();
    let v1 = cloud
        .publish_version(&function, hex, "routing")
        .await
        .unwrap()
        .version;
    let other_role = format!(
        "arn:aws:iam::{}:role/{function}-other",
        cloud.account_id().await.unwrap()
    );
    let v2 = publish_with(&local, &function, hex, json!({"Role": other_role})).await;
    let dlq = json!({"Role": role, "DeadLetterConfig": {"TargetArn": "arn:aws:sqs:us-east-1:123456789012:dlq"}});
    let v3 = publish_with(&local, &function, hex, dlq).await;
    let v4 = publish_with(
        &local,
        &function,
        hex,
        json!({"DeadLetterConfig": {"TargetArn": ""}}),
    )
    .await;

    let live = cloud
        .create_alias(&function, "live", &AliasTarget::version(&v1), "")
        .await
        .unwrap();
    let unchanged = format!("{live:?}");
    let refusals: [(AliasTarget, &str, &str); 8] = [
        (
            split(&v1, &[(&v4, 1.5)]),
            "ValidationException",
            "Map value must satisfy",
        ),
        (
            split(&v1, &[(&v4, -0.1)]),
            "ValidationException",
            "Map value must satisfy",
        ),
        (
            split(&v1, &[("$LATEST", 0.1)]),
            "ValidationException",
            "pattern: [0-9]+",
        ),
        (
            split(&v1, &[(&v2, 0.1), (&v4, 0.1)]),
            "InvalidParameterValueException",
            "at most 2 versions",
        ),
        (
            split("$LATEST", &[(&v4, 0.1)]),
            "InvalidParameterValueException",
            "$LATEST is not supported",
        ),
        (
            split(&v1, &[(&v1, 0.1)]),
            "InvalidParameterValueException",
            "must be different",
        ),
        (
            split(&v1, &[(&v2, 0.1)]),
            "InvalidParameterValueException",
            "same execution role",
        ),
        (
            split(&v1, &[(&v3, 0.1)]),
            "InvalidParameterValueException",
            "same dead-letter queue",
        ),
    ];
    for (target, code, says) in refusals.iter().chain([&(
        split(&v1, &[("99", 0.1)]),
        "ResourceNotFoundException",
        "Function not found",
    )]) {
        let err = cloud
            .update_alias(
                &function,
                "live",
                target,
                Some("refused"),
                live.revision_id.as_deref(),
            )
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(code) && err.contains(says),
            "{target:?}: {err}"
        );
        let now = cloud.get_alias(&function, "live").await.unwrap();
        assert_eq!(
            format!("{now:?}"),
            unchanged,
            "{target:?} changed the alias"
        );
        let created = cloud.create_alias(&function, "canary", target, "").await;
        assert!(
            created.unwrap_err().to_string().contains(code),
            "CreateAlias {target:?}"
        );
    }
    let canary = cloud.get_alias(&function, "canary").await.unwrap_err();
    assert!(
        canary.is_not_found(),
        "a refused CreateAlias created nothing: {canary}"
    );
    // The same alias accepts what AWS accepts: another published version of the same role
    // and dead-letter configuration, at any weight from 0 to 1.
    for weight in [0.0, 0.1, 1.0] {
        let target = split(&v1, &[(&v4, weight)]);
        let moved = cloud
            .update_alias(&function, "live", &target, None, None)
            .await
            .unwrap();
        assert_eq!(moved.target, target);
    }
    // Over HTTP: 400 with Lambda's error type, and an UpdateAlias that names no FunctionVersion
    // is judged against the alias's own.
    let raw = local
        .lambda_call(
            reqwest::Method::PUT,
            &format!("{function}/aliases/live"),
            json!({"RoutingConfig": {"AdditionalVersionWeights": {v1.clone(): 0.5}}}),
        )
        .await;
    assert_eq!(raw.status(), 400);
    assert_eq!(
        raw.headers()["x-amzn-errortype"],
        "InvalidParameterValueException"
    );
    let body: Value = raw.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("must be different"),
        "{body}"
    );
    let weights = cloud
        .get_alias(&function, "live")
        .await
        .unwrap()
        .target
        .additional_weights;
    assert_eq!(weights, BTreeMap::from([(v4, 1.0)]));
}
