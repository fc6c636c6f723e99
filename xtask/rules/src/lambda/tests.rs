//! The rules of `lambda.rs` against hand-built functions.
use std::collections::BTreeMap;

use super::{
    Address, Deletion, Function, Published, Routing, RunsAs, addressed, delete_version,
    routing_refusal, unpublished_since,
};

fn version(role: &str, dead_letter: Option<&str>) -> Published {
    Published {
        image: "repo@sha256:ab".into(),
        given_image: None,
        architecture: "x86_64".into(),
        runs_as: RunsAs {
            role: role.into(),
            dead_letter: dead_letter.map(str::to_owned),
        },
        cut_from: "r".into(),
        revision: "v".into(),
        active_at: 0,
        used_at: 0,
        image_gone: false,
    }
}

/// An Active function at RevisionId `r` with these versions.
fn function(versions: BTreeMap<String, Published>) -> Function {
    Function {
        image: "repo@sha256:ab".into(),
        given_image: None,
        active_at: 0,
        updated_at: None,
        idle_when_updated: false,
        revision: "r".into(),
        settled_revision: "r".into(),
        architecture: "x86_64".into(),
        runs_as: RunsAs::default(),
        versions,
        aliases: BTreeMap::new(),
        policies: BTreeMap::new(),
    }
}

#[test]
fn an_alias_routes_to_one_other_published_version_that_runs_as_its_main_one() {
    let function = function(BTreeMap::from([
        ("1".into(), version("role-a", None)),
        ("2".into(), version("role-a", None)),
        ("3".into(), version("role-b", None)),
        (
            "4".into(),
            version("role-a", Some("arn:aws:sqs:us-east-1:1:dlq")),
        ),
    ]));
    let refusal = |main: &str, weights: &[(&str, f64)]| {
        let weights = weights.iter().map(|(v, w)| ((*v).to_owned(), *w)).collect();
        routing_refusal(&function, "f", main, &weights)
    };
    assert_eq!(refusal("1", &[("2", 0.1)]), None);
    assert_eq!(refusal("1", &[]), None);
    assert_eq!(refusal("1", &[("2", 0.0)]), None);
    assert_eq!(refusal("1", &[("2", 1.0)]), None);
    let constraint = |r: Option<Routing>| matches!(r, Some(Routing::Constraint(_)));
    let invalid = |r: Option<Routing>, says: &str| matches!(&r, Some(Routing::Invalid(m)) if m.contains(says));
    assert!(constraint(refusal("1", &[("2", 1.5)])));
    assert!(constraint(refusal("1", &[("2", -0.1)])));
    assert!(constraint(refusal("1", &[("$LATEST", 0.1)])));
    assert!(invalid(
        refusal("1", &[("2", 0.1), ("4", 0.1)]),
        "at most 2"
    ));
    assert!(invalid(refusal("$LATEST", &[("2", 0.1)]), "$LATEST"));
    assert!(invalid(refusal("2", &[("2", 0.1)]), "different"));
    assert!(invalid(refusal("1", &[("3", 0.1)]), "execution role"));
    assert!(invalid(refusal("1", &[("4", 0.1)]), "dead-letter"));
    assert_eq!(
        refusal("1", &[("9", 0.1)]),
        Some(Routing::NotFound("Function not found: f:9".into()))
    );
}

// aws-behaviours row 45: what decides is an update since the last version, not the bytes.
#[test]
fn a_publish_answers_the_last_version_until_latest_is_updated() {
    let mut function = function(BTreeMap::new());
    assert_eq!(unpublished_since(&function), None, "nothing published yet");
    function.revise("p".into(), "p".into());
    super::publish(&mut function, "9".into(), 0, "v9".into());
    let cut_from = function.revision.clone();
    let ten = Published {
        cut_from,
        ..version("role", None)
    };
    function.versions.insert("10".into(), ten);
    assert_eq!(
        unpublished_since(&function),
        Some("10"),
        "the last by number"
    );
    // An update gives `$LATEST` a new RevisionId, whatever it changed.
    function.revision = "r2".into();
    assert_eq!(unpublished_since(&function), None);
}

#[test]
fn a_version_an_alias_routes_to_is_not_deleted_and_a_missing_one_is_nothing_to_do() {
    let mut f = function(BTreeMap::from([
        ("1".to_owned(), version("r", None)),
        ("2".to_owned(), version("r", None)),
        ("3".to_owned(), version("r", None)),
    ]));
    let aliases = BTreeMap::from([("green".to_owned(), vec!["2".to_owned(), "1".to_owned()])]);
    for aliased in ["1", "2"] {
        assert_eq!(
            delete_version(&mut f, aliased, &aliases),
            Err(Deletion::Aliased(vec!["green".into()]))
        );
    }
    assert_eq!(
        delete_version(&mut f, "$LATEST", &aliases),
        Err(Deletion::Latest)
    );
    assert_eq!(delete_version(&mut f, "3", &aliases), Ok(()));
    assert_eq!(
        delete_version(&mut f, "3", &aliases),
        Ok(()),
        "already gone"
    );
    assert_eq!(f.versions.keys().collect::<Vec<_>>(), ["1", "2"]);
}

#[test]
fn latest_goes_idle_and_an_update_of_an_idle_function_keeps_it_inactive_until_it_ends() {
    use super::Status;
    let delays = crate::Delays {
        idle_ms: 1_000,
        update_ms: 100,
        ..crate::Delays::default()
    };
    let mut latest = function(BTreeMap::new());
    assert_eq!(latest.status(1_000, &delays), Status::Active);
    assert_eq!(latest.status(1_001, &delays), Status::Inactive);
    latest.begin_update(5_000, &delays);
    assert_eq!(latest.last_update_status(5_050), Some("InProgress"));
    assert_eq!(latest.status(5_050, &delays), Status::Inactive);
    assert_eq!(latest.status(5_100, &delays), Status::Active);
    assert_eq!(latest.last_update_status(5_100), Some("Successful"));
    // Idle again a while after the update's end; an update of an Active one stays Active.
    assert_eq!(latest.status(6_101, &delays), Status::Inactive);
    latest.begin_update(5_200, &delays);
    assert_eq!(latest.status(5_250, &delays), Status::Active);
}

#[test]
fn a_function_addressed_by_arn_is_found_in_its_own_region_only_and_its_qualifiers_must_agree() {
    let arn = "arn:aws:lambda:us-east-1:123456789012:function:bgd";
    assert_eq!(
        addressed("bgd", "us-east-1", Some("3")),
        Ok(("bgd".into(), Some("3".into())))
    );
    assert_eq!(addressed(arn, "us-east-1", None), Ok(("bgd".into(), None)));
    assert_eq!(
        addressed(&format!("{arn}:3"), "us-east-1", Some("3")),
        Ok(("bgd".into(), Some("3".into())))
    );
    assert_eq!(
        addressed("bgd:green", "us-east-1", None),
        Ok(("bgd".into(), Some("green".into())))
    );
    assert_eq!(
        addressed(&format!("{arn}:1"), "us-east-1", Some("2")),
        Err(Address::QualifierMismatch)
    );
    assert!(matches!(
        addressed(arn, "eu-west-1", None),
        Err(Address::OtherRegion { .. })
    ));
}

/// aws-audit-3 N4: an idle version whose image was deleted from ECR does not warm up again
/// when invoked (Lambda fetches the image to restore it): it is Failed, for good, and says why.
#[test]
fn an_inactive_version_whose_image_is_gone_fails_for_good_and_one_whose_image_is_held_warms_up() {
    use super::{Status, invoke, state_reason};
    let delays = crate::Delays {
        idle_ms: 1_000,
        pending_ms: 100,
        ..crate::Delays::default()
    };
    let (mut held, mut gone) = (version("r", None), version("r", None));
    assert_eq!(
        invoke(&mut held, 500, &delays, false),
        Status::Active,
        "not fetched while warm"
    );
    assert_eq!(invoke(&mut held, 2_000, &delays, true), Status::Inactive);
    assert_eq!(held.status(2_050, &delays), Status::Pending);
    assert_eq!(held.status(2_100, &delays), Status::Active);
    assert_eq!(invoke(&mut gone, 2_000, &delays, false), Status::Failed);
    assert_eq!(gone.status(2_100, &delays), Status::Failed);
    assert_eq!(invoke(&mut gone, 9_000, &delays, true), Status::Failed);
    assert_eq!(
        state_reason(Status::Failed.as_str()).map(|r| r.1),
        Some("ImageDeleted")
    );
}
