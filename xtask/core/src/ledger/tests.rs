//! The ledger's formats read back as written, and the times it stamps.
use super::*;
use crate::facts::Origin;

fn record(actor: &str) -> VersionRecord {
    VersionRecord {
        git_sha: "a".repeat(40),
        dirty: true,
        digest: format!("sha256:{}", "b".repeat(64)),
        build_id: Some("second".into()),
        published_at: "2026-11-27T00:12:34Z".into(),
        actor: actor.into(),
        origin: None,
    }
}

#[test]
fn version_record_round_trips_within_lambdas_limit() {
    let record = record("github:octocat");
    let description = record.to_description();
    assert!(description.len() <= DESCRIPTION_LIMIT);
    assert_eq!(VersionRecord::parse(&description).unwrap(), record);
}

#[test]
fn a_promoted_version_records_where_its_image_came_from() {
    let mut record = record("github:octocat");
    record.origin = Some(Origin {
        environment: "staging".into(),
        version: 41,
        digest: record.digest.clone(),
    });
    let description = record.to_description();
    assert!(description.contains(" src=staging:41 "), "{description}");
    assert_eq!(VersionRecord::parse(&description).unwrap(), record);
}

#[test]
fn a_long_actor_is_cut_not_the_build_facts() {
    let description = record(&"x".repeat(300)).to_description();
    assert_eq!(description.len(), DESCRIPTION_LIMIT);
    let parsed = VersionRecord::parse(&description).unwrap();
    assert_eq!(parsed.digest, record("").digest);
    assert_eq!(parsed.git_sha, "a".repeat(40));
}

#[test]
fn promotion_and_lock_round_trip() {
    let promotion = Promotion {
        version: 7,
        from: Some(6),
        actor: "me@host".into(),
        at: "t".into(),
        pinned: true,
        baking: Some(1_800_000_000),
        rolling: None,
    };
    assert_eq!(
        Promotion::parse(&promotion.to_description()).unwrap(),
        promotion
    );
    // The longest plan and epoch times still leave the record within Lambda's limit.
    let rolling = Promotion {
        rolling: Some(Rolling {
            to: 123_456,
            strategy: "linear:10:30m".into(),
            bake: 86_400,
            step: 9,
            step_at: 1_800_000_000,
            since: 1_799_999_000,
        }),
        actor: "github:a-rather-long-organisation-name".into(),
        ..promotion.clone()
    };
    let description = rolling.to_description();
    assert!(description.len() < DESCRIPTION_LIMIT, "{description}");
    assert_eq!(Promotion::parse(&description).unwrap(), rolling);
    let settled = rolling.settled().to_description();
    assert!(!settled.contains(" to="), "{settled}");
    let lock = Lock {
        holder: "me@host".into(),
        git_sha: "abc".into(),
        expires: 42,
        kept: true,
        hold: Some(Hold {
            green_revision: "8f1c5a3e-0b7d-4f2e-9c61-2d4e5f6a7b8c".into(),
            strategy: Some("canary:10:5m".into()),
            bake: Some("2m".into()),
        }),
        task: Task::Deploy,
    };
    assert_eq!(Lock::parse(&lock.to_description()).unwrap(), lock);
    for task in [Task::Promote, Task::Prune, Task::Provision, Task::Resume] {
        let lock = Lock {
            task,
            ..lock.clone()
        };
        assert_eq!(Lock::parse(&lock.to_description()).unwrap(), lock);
    }
    assert!(lock.is_expired());
}

proptest::proptest! {
    /// Any actor, build id or git sha (non-ASCII included) fits Lambda's limit without a
    /// panic, and the build facts survive the round trip.
    #[test]
    fn any_actor_build_id_or_sha_fits_and_never_panics(
        actor in "\\PC{0,300}",
        id in "[^\\s=]{1,40}",
        sha in "\\PC{0,50}",
    ) {
        let record = VersionRecord {
            build_id: Some(id.clone()),
            ..record(&actor)
        };
        let description = record.to_description();
        proptest::prop_assert!(description.len() <= DESCRIPTION_LIMIT);
        let parsed = VersionRecord::parse(&description).unwrap();
        proptest::prop_assert_eq!(parsed.build_id, Some(id));
        proptest::prop_assert_eq!(parsed.digest, record.digest);
        let _ = short(&sha);
        let lock = Lock::new(&sha, Duration::from_secs(60), false, None).to_description();
        proptest::prop_assert!(lock.len() <= DESCRIPTION_LIMIT);
    }
}

#[test]
fn a_lock_whose_expiry_cannot_be_read_is_live() {
    let lock = Lock::parse("bgd g=abc expires=soon lock=me@host").unwrap();
    assert!(!lock.is_expired(), "fails closed: {lock:?}");
    assert!(!Lock::parse("bgd g=abc lock=me@host").unwrap().is_expired());
}

#[test]
fn non_ascii_actors_and_shas_never_panic() {
    let long = "é".repeat(300);
    let description = record(&long).to_description();
    assert!(description.len() <= DESCRIPTION_LIMIT);
    assert_eq!(
        VersionRecord::parse(&description).unwrap().git_sha,
        "a".repeat(40)
    );
    assert_eq!(short("ééééééééééééééé"), "éééééééééééé");
    assert_eq!(short("abc"), "abc");
    let lock = Lock::new(&long, Duration::from_secs(u64::MAX), false, None);
    assert!(lock.to_description().len() <= DESCRIPTION_LIMIT);
    assert!(!lock.is_expired());
}

#[test]
fn descriptions_not_written_by_bgd_are_refused() {
    assert!(VersionRecord::parse("published by hand").is_err());
    assert!(Promotion::parse("").is_err());
}

#[test]
fn rfc3339_formats_known_instants() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(rfc3339(1_795_738_354), "2026-11-27T00:12:34Z");
    for epoch in [0, 951_782_400, 1_795_738_354] {
        assert_eq!(epoch_of(&rfc3339(epoch)), Some(epoch));
    }
    assert_eq!(epoch_of("yesterday"), None);
}
