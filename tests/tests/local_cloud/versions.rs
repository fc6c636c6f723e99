//! Deleting versions as Lambda rules it (aws-behaviours row 46): never one an alias routes to,
//! a success for one that does not exist, and a deleted number never handed out again. The
//! local cloud broke all three (adversarial-3 #3, #9, #10): a deploy after prune ran a pruned
//! version's image under a reused number, prune deleted green's version, and duplicate numbers
//! left `destroy` failing for good.
use std::collections::BTreeMap;

use bgd_core::cloud::{AliasTarget, Functions, Pruning};
use e2e::local::{Running, ready, settings};

#[tokio::test]
async fn a_version_is_deleted_as_lambda_rules_it_and_its_number_never_comes_back() {
    let local = Running::up().await;
    let cloud = &local.cloud;
    let (function, image) = local.function_with_app_image("versions").await;
    let mut published = Vec::new();
    for greeting in ["one", "two", "three"] {
        cloud
            .update_function_configuration(&function, &settings(greeting))
            .await
            .unwrap();
        ready(cloud, &function, "$LATEST").await;
        let version = cloud
            .publish_version(&function, image.digest_hex(), greeting)
            .await
            .unwrap();
        published.push(version.version);
    }
    let [one, two, three] = [&published[0], &published[1], &published[2]];
    let green = AliasTarget {
        version: two.clone(),
        additional_weights: BTreeMap::from([(one.clone(), 0.1)]),
    };
    cloud
        .create_alias(&function, "green", &green, "")
        .await
        .unwrap();

    for aliased in [two, one] {
        let refused = cloud.delete_version(&function, aliased).await.unwrap_err();
        assert!(refused.is_conflict(), "{aliased}: {refused}");
        assert!(refused.to_string().contains("green"), "{refused}");
    }
    cloud.delete_version(&function, three).await.unwrap();
    cloud.delete_version(&function, three).await.unwrap();
    cloud.delete_version(&function, "999").await.unwrap();
    assert!(cloud.delete_version(&function, "$LATEST").await.is_err());

    let gone = cloud.get_version(&function, three).await.unwrap_err();
    assert!(gone.is_not_found(), "{gone}");
    let left: Vec<String> = cloud
        .list_versions(&function)
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.version)
        .collect();
    assert!(
        !left.contains(three) && left.contains(one) && left.contains(two),
        "{left:?}"
    );
    let to_deleted = AliasTarget::version(three.clone());
    let refused = cloud.create_alias(&function, "blue", &to_deleted, "").await;
    assert!(refused.unwrap_err().is_not_found());

    cloud
        .update_function_configuration(&function, &settings("four"))
        .await
        .unwrap();
    ready(cloud, &function, "$LATEST").await;
    let next = cloud
        .publish_version(&function, image.digest_hex(), "four")
        .await
        .unwrap();
    let number = |v: &str| v.parse::<u64>().unwrap();
    assert_eq!(
        number(&next.version),
        number(three) + 1,
        "{three} is never reused"
    );
    cloud.delete_function(&function).await.unwrap();
}
