//! The simulation's answers against every recorded case it can express, in `cargo test`: the
//! in-memory AWS cannot drift from AWS's recordings unnoticed between `cargo xtask test` runs.
use bgd_rules::conformance::{DELAYS, Verdict};

#[test]
fn the_simulations_aws_answers_every_recorded_case_it_can_express_as_recorded() {
    let cases = bgd_core::setup::conformance_cases().unwrap();
    let only: Vec<_> = cases.iter().map(|(_, case)| case.clone()).collect();
    let verdicts = super::conformance(&only, DELAYS).unwrap();
    let failed: Vec<String> = cases
        .iter()
        .zip(&verdicts)
        .filter_map(|((service, case), verdict)| match verdict {
            Verdict::Failed(why) => Some(format!("{service}/{}: {why}", case.name)),
            _ => None,
        })
        .collect();
    let passed = verdicts.iter().filter(|v| **v == Verdict::Passed).count();
    assert!(failed.is_empty(), "{failed:#?}");
    // As many as ran on 2026-12-07: a case that stops running here must be skipped by name.
    assert!(passed >= 27, "only {passed} cases ran in the simulation");
}
