//! What a set of IAM policy documents allows, read statically: enough to say which of the
//! generated policy's grants a role lacks. Conditions are not evaluated (they depend on the
//! request), so a conditional Allow counts as a grant and a conditional Deny as none.
use serde_json::Value;

use crate::iam::matches;

/// A field that IAM accepts as one string or a list of them.
pub(super) fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// A document's statements (IAM accepts one statement object in place of the list).
pub(super) fn statements(document: &Value) -> Vec<&Value> {
    match &document["Statement"] {
        Value::Array(many) => many.iter().collect(),
        one @ Value::Object(_) => vec![one],
        _ => Vec::new(),
    }
}

/// Actions match without regard to case; resources with it.
fn action_matches(pattern: &str, action: &str) -> bool {
    matches(&pattern.to_ascii_lowercase(), &action.to_ascii_lowercase())
}

/// Whether `statement` names `action` on `resource` (through Action/NotAction and
/// Resource/NotResource, as IAM reads them).
fn covers(statement: &Value, action: &str, resource: &str) -> bool {
    let action_in = |field: &str| {
        strings(&statement[field])
            .iter()
            .any(|p| action_matches(p, action))
    };
    let resource_in = |field: &str| {
        strings(&statement[field])
            .iter()
            .any(|p| matches(p, resource))
    };
    let action_named = if statement.get("NotAction").is_some() {
        !action_in("NotAction")
    } else {
        action_in("Action")
    };
    let resource_named = if statement.get("NotResource").is_some() {
        !resource_in("NotResource")
    } else {
        resource_in("Resource")
    };
    action_named && resource_named
}

/// Why `action` on `resource` is not allowed by `policies`, or `None` when it is.
pub(super) fn refusal(
    policies: &[(String, Value)],
    action: &str,
    resource: &str,
) -> Option<String> {
    let every = || {
        policies.iter().flat_map(|(source, document)| {
            statements(document)
                .into_iter()
                .map(move |statement| (source, statement))
        })
    };
    let denied = every().find(|(_, st)| {
        st["Effect"] == "Deny" && st.get("Condition").is_none() && covers(st, action, resource)
    });
    if let Some((source, _)) = denied {
        return Some(format!("denied by {source}"));
    }
    let allowed = every().any(|(_, st)| st["Effect"] == "Allow" && covers(st, action, resource));
    (!allowed).then(|| "not granted".to_owned())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::refusal;

    #[test]
    fn wildcards_not_action_and_deny_are_read_as_iam_reads_them() {
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:bgd:blue";
        let policies = vec![
            (
                "inline a".to_owned(),
                json!({"Statement": {"Effect": "Allow", "Action": "Lambda:Get*", "Resource": "arn:aws:lambda:*:*:function:bgd*"}}),
            ),
            (
                "inline b".to_owned(),
                json!({"Statement": [
                    {"Effect": "Allow", "NotAction": "iam:*", "Resource": ["arn:aws:lambda:us-east-1:123456789012:function:bgd:*"]},
                    {"Effect": "Deny", "Action": "lambda:DeleteFunction", "Resource": "*"},
                ]}),
            ),
        ];
        assert_eq!(refusal(&policies, "lambda:GetAlias", arn), None);
        assert_eq!(refusal(&policies, "lambda:UpdateAlias", arn), None);
        assert_eq!(
            refusal(&policies, "lambda:DeleteFunction", arn).as_deref(),
            Some("denied by inline b")
        );
        assert_eq!(
            refusal(&policies, "iam:GetRole", "arn:aws:iam::123456789012:role/x").as_deref(),
            Some("not granted")
        );
        let other = "arn:aws:lambda:us-east-1:123456789012:function:other";
        assert_eq!(
            refusal(&policies, "lambda:UpdateAlias", other).as_deref(),
            Some("not granted")
        );
    }
}
