use std::collections::BTreeMap;

use crate::{
    cloud::{Alias, AliasTarget},
    pipeline::green_moved_ctx,
};

#[tokio::test]
async fn a_shift_step_stops_the_rollout_when_green_moved_since_its_last_write_smithy_mock() {
    let ctx = green_moved_ctx();
    let green = Alias {
        name: "green".into(),
        target: AliasTarget::version("6"),
        description: String::new(),
        revision_id: Some("returned-by-the-last-write".into()),
    };
    let split = AliasTarget {
        version: "6".into(),
        additional_weights: BTreeMap::from([("7".to_owned(), 0.1)]),
    };
    let err = ctx.guarded_green(&green, &split, None).await.unwrap_err();
    assert!(
        err.to_string().contains("the rollout stops here"),
        "{err:#}"
    );
}

/// adversarial-3 m11: one failed CloudWatch read ended the run with the candidate on green,
/// unwatched. Now a read failing for [`super::BLIND_LIMIT`], or still failing as the watch
/// ends, is a breach (green goes back); a shorter one is waited out.
#[tokio::test]
async fn cloudwatch_unreadable_for_too_long_is_a_breach_not_an_unwatched_green() {
    let ctx = green_moved_ctx();
    let mut seen = super::Watched::default();
    let mut watch = super::Watch::new(
        "http://127.0.0.1:9/green".into(),
        ["6".into(), "7".into()],
        std::time::SystemTime::now(),
        &mut seen,
    );
    let error = || anyhow::anyhow!("no CloudWatch alarm \"gone\"");
    assert!(
        ctx.blind(&mut watch, error(), false).is_none(),
        "a blip is waited out"
    );
    let ending = ctx.blind(&mut watch, error(), true).unwrap();
    assert_eq!(ending.signal, crate::health::Signal::Unreadable);
    assert_eq!(ending.version, "7");
    watch.blind_since = Some(tokio::time::Instant::now() - super::BLIND_LIMIT);
    let breach = ctx.blind(&mut watch, error(), false).unwrap();
    assert!(
        breach.to_string().contains("CloudWatch could not be read")
            && breach.to_string().contains("gone"),
        "{breach}"
    );
}
