//! The simulation's own promises: a seed replays byte for byte, a batch of today's code breaks
//! no invariant, and the seeds that found real bugs stay green (each failed before its fix, as
//! the message says).
use std::sync::OnceLock;

use super::{prepare, run::Fixtures, run_one};

/// Written once per test process: the tests run in parallel.
pub(crate) fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| prepare().unwrap())
}

fn violations(seed: u64, actors: usize) -> Vec<String> {
    run_one(seed, actors, true, fixtures()).violations
}

#[test]
fn the_same_seed_replays_the_same_run_byte_for_byte() {
    let fixtures = fixtures();
    for seed in [3, 42, 11_994] {
        let first = run_one(seed, 4, false, fixtures);
        // The wall clock moves on a second: nothing a run records may follow it.
        std::thread::sleep(std::time::Duration::from_millis(1_001));
        let again = run_one(seed, 4, false, fixtures);
        assert!(first.steps > 50, "seed {seed}: {} steps", first.steps);
        assert_eq!(first.trace, again.trace, "seed {seed}");
        assert_eq!(first.schedule, again.schedule);
    }
    let other = run_one(4, 4, false, fixtures);
    assert_ne!(run_one(3, 4, false, fixtures).trace, other.trace);
}

#[test]
fn a_batch_of_runs_breaks_no_invariant() {
    let fixtures = fixtures();
    let (mut faults, mut failed) = (0, Vec::new());
    for seed in 500..700 {
        let outcome = run_one(seed, 3, seed % 2 == 0, fixtures);
        faults += outcome.faults.0.values().sum::<u64>();
        if !outcome.violations.is_empty() {
            failed.push((seed, outcome.violations));
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
    assert!(faults > 100, "only {faults} faults injected in 200 runs");
}

/// Before the fix: "green serves version 2 (image sha256:240ff9f1035f) that blue never
/// verified": blue's smoke check `GET /` was answered by version 1 while the alias move to 2
/// propagated, and verification took it.
#[test]
fn regression_seed_1_smoke_checks_answered_by_the_old_version_are_not_taken() {
    assert_eq!(violations(1, 3), Vec::<String>::new());
}

/// Before the fix: "actor 3 removed the live lock of Actor(1)": a holder stalled past its TTL
/// deleted, in its cleanup, the lock another deploy had taken over from it.
#[test]
fn regression_seed_112_a_stalled_holder_leaves_the_lock_that_took_over() {
    assert_eq!(violations(112, 3), Vec::<String>::new());
}

/// Before the fix: "actor 4 wrote (PUT sim@sha256:eac6…) after actor 3 removed its live lock":
/// two deploys took over one expired lock at once, the second deleting the first's new lock.
#[test]
fn regression_seed_11994_two_takeovers_of_one_expired_lock_leave_one_holder() {
    assert_eq!(violations(11_994, 4), Vec::<String>::new());
}

/// Before the fix: "actor 2 (deploy b2) moved green 1 → 2 without holding the lock": a deploy
/// stalled past its lock's TTL, another took the lock over, and the first still promoted.
#[test]
fn regression_seed_20956_a_deploy_whose_lock_was_taken_over_does_not_promote() {
    assert_eq!(violations(20_956, 6), Vec::<String>::new());
}

/// Before the fix: "the next plain run did not converge (deploy b1 --unpin --break-lock): a
/// deploy holds the lock …; pass --break-lock if it died": the unpin inside such a deploy
/// dropped the flag.
#[test]
fn regression_seed_22682_deploy_unpin_passes_break_lock_on() {
    assert_eq!(violations(22_682, 6), Vec::<String>::new());
}

/// Before the fix: "actor 4 (deploy b2 --dry-run, read-only) sent the write DeleteStage blue":
/// a dry run of an already-deployed build removed an expired lock.
#[test]
fn regression_seed_20462_a_dry_run_removes_no_lock() {
    assert_eq!(violations(20_462, 6), Vec::<String>::new());
}
