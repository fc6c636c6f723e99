//! The conformance suite's judge: fields, pointers and saved values against hand-built answers.
use std::collections::BTreeMap;

use serde_json::json;

use super::{judge::field, *};

fn expect(status: u16, body: Value) -> Expect {
    serde_json::from_value(json!({"status": status, "body": body})).unwrap()
}

fn answer(status: u16, body: Value) -> Answer {
    Answer {
        status,
        error: None,
        body,
    }
}

#[test]
fn a_recorded_field_is_judged_by_value_absence_and_saved_values() {
    let mut saved = BTreeMap::new();
    let first = answer(200, json!({"RevisionId": "r1", "State": "Active"}));
    let want = expect(
        200,
        json!({"/RevisionId": "<save:rev>", "/State": "Active", "/RoutingConfig": null}),
    );
    assert_eq!(judge(&want, &first, &mut saved), Ok(()));
    let same = expect(200, json!({"/RevisionId": "<same:rev>"}));
    let new = expect(200, json!({"/RevisionId": "<new:rev>"}));
    assert_eq!(judge(&same, &first, &mut saved), Ok(()));
    assert!(judge(&new, &first, &mut saved).is_err());
    let moved = answer(200, json!({"RevisionId": "r2", "RoutingConfig": {}}));
    assert_eq!(judge(&new, &moved, &mut saved), Ok(()));
    assert!(
        judge(
            &expect(200, json!({"/State": "Active"})),
            &moved,
            &mut saved
        )
        .unwrap_err()
        .contains("absent")
    );
    let routed = expect(200, json!({"/RoutingConfig": null}));
    assert!(
        judge(&routed, &moved, &mut saved)
            .unwrap_err()
            .contains("present")
    );
    assert!(
        judge(&expect(404, json!({})), &first, &mut saved)
            .unwrap_err()
            .contains("status 200")
    );
}

#[test]
fn a_pointer_picks_array_elements_by_key_and_reads_into_json_strings() {
    let body = json!({
        "Versions": [{"Version": "$LATEST"}, {"Version": "1", "CodeSha256": "abc"}],
        "Policy": "{\"Statement\":[{\"Sid\":\"s3\",\"Resource\":\"arn:f:1\"}]}",
    });
    assert_eq!(
        field(&body, "/Versions[Version=1]/CodeSha256"),
        Some(json!("abc"))
    );
    assert_eq!(field(&body, "/Versions[Version=2]"), None);
    assert_eq!(field(&body, "/Versions/0/Version"), Some(json!("$LATEST")));
    assert_eq!(
        field(&body, "/Policy/Statement[Sid=s3]/Resource"),
        Some(json!("arn:f:1"))
    );
}

#[test]
fn inputs_name_the_case_s_values() {
    let vars = BTreeMap::from([("fn".to_owned(), "c-1".to_owned())]);
    let input = json!({"FunctionName": "${fn}", "Qualifier": ["${fn}:1"], "MemorySize": 128});
    assert_eq!(
        substituted(&input, &vars),
        json!({"FunctionName": "c-1", "Qualifier": ["c-1:1"], "MemorySize": 128})
    );
}

/// A case's name cut at a word's end left `--` before the hash: ECR refused it as a
/// repository name (`(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*…`).
#[test]
fn a_case_s_name_is_a_valid_repository_name_wherever_it_is_cut() {
    let case: Case = serde_json::from_value(json!({
        "name": "get_lifecycle_policy_without_one_is_not_found", "source": "s", "steps": []
    }))
    .unwrap();
    let name = function_of(&case);
    assert!(name.len() <= 64 && !name.contains("--"), "{name}");
    assert!(name.starts_with("c-get-lifecycle-policy-without-one-is-not-"));
}
