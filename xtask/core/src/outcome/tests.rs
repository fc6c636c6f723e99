//! The statement of what green serves, and the exit code it implies, for each way a run ends.
use super::*;

fn served(target: AliasTarget) -> Result<Option<Served>, String> {
    Ok(Some(Served {
        target,
        git_sha: Some("abc".into()),
        build_id: None,
    }))
}

fn v(version: &str) -> AliasTarget {
    AliasTarget::version(version)
}

fn split(main: &str, other: &str, share: f64) -> AliasTarget {
    AliasTarget {
        version: main.into(),
        additional_weights: BTreeMap::from([(other.into(), share)]),
    }
}

fn wrote(target: &AliasTarget) -> GreenWrites {
    let mut writes = GreenWrites::default();
    writes.sent(target);
    writes.answered(target, true);
    writes
}

#[test]
fn green_moved_by_this_run_only_where_its_own_answered_write_put_it() {
    let moved = Green::judge(Some(v("6")), served(v("7")), &wrote(&v("7")));
    assert_eq!(moved.moved, Moved::ByThisRun);
    assert_eq!(
        moved.put_back().as_deref(),
        Some("cargo xtask rollback --to 6")
    );
    let unchanged = Green::judge(Some(v("6")), served(v("6")), &wrote(&v("7")));
    assert_eq!(unchanged.moved, Moved::Unchanged);
    assert_eq!(unchanged.put_back(), None);
    let other = Green::judge(Some(v("6")), served(v("5")), &wrote(&v("7")));
    assert_eq!(other.moved, Moved::BySomeoneElse);
    let unknown = Green::judge(Some(v("6")), Err("down".into()), &wrote(&v("7")));
    assert_eq!(unknown.moved, Moved::Unknown);
    assert!(unknown.maybe_moved_by_this_run());
    let never_tried = Green::judge(Some(v("6")), Err("down".into()), &GreenWrites::default());
    assert_eq!(never_tried.moved, Moved::Unchanged);
    let mut no_answer = GreenWrites::default();
    no_answer.sent(&v("7"));
    let maybe = Green::judge(Some(v("6")), served(v("7")), &no_answer);
    assert_eq!(maybe.moved, Moved::Unknown);
}

/// Two rollbacks to 2 at once (adversarial-3, critical 1): the loser's write was refused
/// by its guard, yet green ends where it asked. Judged by the version alone, the loser
/// said it moved green and named the bad version as the way back (exit 3).
#[test]
fn a_write_refused_by_its_guard_moved_nothing_though_green_serves_its_target() {
    let mut refused = GreenWrites::default();
    refused.sent(&v("2"));
    refused.answered(&v("2"), false);
    let loser = Green::judge(Some(v("3")), served(v("2")), &refused);
    assert_eq!(loser.moved, Moved::BySomeoneElse);
    assert_eq!(loser.put_back(), None);
    assert!(!loser.maybe_moved_by_this_run());
    assert!(
        loser.to_string().contains("someone else moved it"),
        "{loser}"
    );
}

/// A rollout that failed mid-shift and could not settle (adversarial-3, critical 2):
/// green's version is as before, but 30% go to the new one. Judged by the version alone it
/// was "unchanged by this run", exit 1.
#[test]
fn a_split_left_by_this_run_is_stated_with_its_weights_and_as_moved() {
    let left = split("14", "16", 0.3);
    let green = Green::judge(Some(v("14")), served(left.clone()), &wrote(&left));
    assert_eq!(green.moved, Moved::ByThisRun);
    assert_eq!(
        green.put_back().as_deref(),
        Some("cargo xtask rollback --to 14")
    );
    assert_eq!(green.weights["16"], 0.3);
    assert_eq!(green.weights["14"], 0.7);
    assert_eq!(green.before_weights, BTreeMap::from([("14".into(), 1.0)]));
    let said = green.to_string();
    assert!(
        said.contains("green serves version 14")
            && said.contains("split: 70% on version 14, 30% on version 16")
            && said.contains("this run moved it from version 14"),
        "{said}"
    );
    // A rollback that ends someone's split moved green, from the split.
    let ended = Green::judge(Some(left.clone()), served(v("14")), &wrote(&v("14")));
    assert_eq!(ended.moved, Moved::ByThisRun);
    assert!(
        ended
            .to_string()
            .contains("from version 14 (split: 70% on version 14, 30% on version 16)"),
        "{ended}"
    );
}

/// What a failing run settles (security-audit-3 N5): the split it wrote, never one someone
/// else wrote after taking the lock over.
#[test]
fn a_run_owns_only_the_split_its_own_write_put_on_green() {
    let ours = split("6", "7", 0.1);
    let writes = wrote(&ours);
    assert!(writes.put_there(&ours));
    assert!(
        !writes.put_there(&split("6", "8", 0.1)),
        "another run's canary"
    );
    assert!(
        !writes.put_there(&split("6", "7", 0.5)),
        "another run's step"
    );
    let mut sent = GreenWrites::default();
    sent.sent(&ours);
    assert!(
        sent.put_there(&ours),
        "a write with no answer may have landed"
    );
}

#[test]
fn the_outermost_code_wins_and_plain_errors_are_one() {
    assert_eq!(exit_of(&anyhow::anyhow!("plain")), Exit::Failed);
    let inner = refuse(Exit::VerificationFailed, "blue answered 503");
    assert_eq!(exit_of(&inner), Exit::VerificationFailed);
    let outer = inner.context(Refused {
        exit: Exit::GreenMoved,
        message: "green moved".into(),
    });
    assert_eq!(exit_of(&outer), Exit::GreenMoved);
}
