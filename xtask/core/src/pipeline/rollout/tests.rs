//! A rollout's watch: how long CloudWatch may stay unreadable before green goes back.
/// adversarial-3 m11: one failed CloudWatch read ended the run with the candidate on green,
/// unwatched. Now a read failing for [`super::BLIND_LIMIT`], or still failing as the watch
/// ends, is a breach (green goes back); a shorter one is waited out.
#[tokio::test]
async fn cloudwatch_unreadable_for_too_long_is_a_breach_not_an_unwatched_green() {
    let progress = crate::progress::Progress::default();
    let mut seen = super::Watched::default();
    let mut watch = super::Watch::new(
        "http://127.0.0.1:9/green".into(),
        ["6".into(), "7".into()],
        std::time::SystemTime::now(),
        &mut seen,
    );
    let error = || anyhow::anyhow!("no CloudWatch alarm \"gone\"");
    assert!(
        watch.blind(&progress, error(), false).is_none(),
        "a blip is waited out"
    );
    let ending = watch.blind(&progress, error(), true).unwrap();
    assert_eq!(ending.signal, crate::health::Signal::Unreadable);
    assert_eq!(ending.version, "7");
    watch.blind_since = Some(tokio::time::Instant::now() - super::BLIND_LIMIT);
    let breach = watch.blind(&progress, error(), false).unwrap();
    assert!(
        breach.to_string().contains("CloudWatch could not be read")
            && breach.to_string().contains("gone"),
        "{breach}"
    );
}
