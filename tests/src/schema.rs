//! The `--json` contract: every result an end-to-end test reads from `deploy`, `promote`,
//! `rollback`, `resume`, `status` or `history` is checked against `docs/output.schema.json`, whose objects
//! allow no field they do not list, so a field added, removed or retyped without the schema
//! (and, when it breaks readers, `schema_version`) fails the test that saw it.
use std::sync::OnceLock;

use bgd_core::setup;
use serde_json::Value;

/// The schema's definition a verb's output must match, or `None` for verbs it does not cover.
fn definition(verb: &str, succeeded: bool, output: &Value) -> Option<&'static str> {
    let moves_green = matches!(verb, "deploy" | "promote" | "rollback" | "resume");
    match verb {
        _ if moves_green && !succeeded => Some("failure"),
        "status" if output.get("environments").is_some() => Some("status_environments"),
        "deploy" | "promote" => Some("deploy"),
        "rollback" => Some("rollback"),
        "resume" => Some("resume"),
        "status" => Some("status"),
        "history" => Some("history"),
        _ => None,
    }
}

fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let path = setup::workspace_root().join("docs/output.schema.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        serde_json::from_str(&text).expect("docs/output.schema.json is JSON")
    })
}

/// Panics, naming each violation, when `output` (what `cargo xtask VERB --json` printed) does
/// not match the schema's definition for `verb`; verbs the schema does not cover pass.
pub fn check(verb: &str, succeeded: bool, output: &Value) {
    let Some(name) = definition(verb, succeeded, output) else {
        return;
    };
    let mut root = schema().clone();
    root["$ref"] = Value::String(format!("#/$defs/{name}"));
    let validator = jsonschema::draft202012::new(&root).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(output)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "`{verb} --json` does not match docs/output.schema.json#/$defs/{name}:\n  {}\n{output:#}",
        errors.join("\n  ")
    );
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::check;

    #[test]
    fn the_schema_rejects_an_unlisted_field_and_a_wrong_type() {
        let history = json!({"schema_version": 1, "versions": [
            {"version": 1, "record": null, "verified": false, "green": true, "blue": false}
        ]});
        check("history", true, &history);
        let mut extra = history.clone();
        extra["versions"][0]["new_field"] = json!(1);
        assert!(std::panic::catch_unwind(|| check("history", true, &extra)).is_err());
        let mut retyped = history.clone();
        retyped["versions"][0]["version"] = json!("1");
        assert!(std::panic::catch_unwind(|| check("history", true, &retyped)).is_err());
        let mut unversioned = history;
        unversioned["schema_version"] = json!(2);
        assert!(std::panic::catch_unwind(|| check("history", true, &unversioned)).is_err());
    }
}
