//! Lambda's resource policies: one per qualifier (the unqualified function's is `""`), its
//! statements added and removed one at a time, each refusal answered as Lambda answers it.
use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Function;

/// Why Lambda refuses AddPermission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Permission {
    /// ValidationException (400): a statement id is `[a-zA-Z0-9-_]{1,100}`.
    StatementId(String),
    /// InvalidParameterValueException (400): a principal is `*`, an account, an ARN or a
    /// service (`….amazonaws.com`, `….amazon.com`).
    Principal,
    /// InvalidParameterValueException (400): no policy for `$LATEST` by qualifier.
    Latest,
    /// ResourceNotFoundException (404): the qualifier names no version or alias.
    NoQualifier(String),
    /// ResourceConflictException (409): the qualifier's policy has this statement id.
    Duplicate(String),
}

impl Permission {
    /// Lambda's HTTP status and error code for it.
    pub fn answered(&self) -> (u16, &'static str) {
        match self {
            Self::StatementId(_) => (400, "ValidationException"),
            Self::Principal | Self::Latest => (400, "InvalidParameterValueException"),
            Self::NoQualifier(_) => (404, "ResourceNotFoundException"),
            Self::Duplicate(_) => (409, "ResourceConflictException"),
        }
    }

    pub fn message(&self, function: &str) -> String {
        match self {
            Self::StatementId(sid) => format!(
                "1 validation error detected: Value '{sid}' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)"
            ),
            Self::Principal => {
                "The provided principal was invalid. Please check the principal and try again."
                    .into()
            }
            Self::Latest => "We currently do not support adding policies for $LATEST.".into(),
            Self::NoQualifier(q) => format!("Function not found: {function}:{q}"),
            Self::Duplicate(sid) => format!(
                "The statement id ({sid}) provided already exists. Please provide a new statement id, or remove the existing statement."
            ),
        }
    }
}

/// AddPermission: Lambda keeps one resource policy per qualifier (the unqualified function's
/// is `""`), so a statement added to an alias is in that alias's policy alone, and a statement
/// id already in it is a conflict (so `ensure_permission`'s conflict branch is what AWS runs).
/// `$LATEST` is refused, a qualifier that is neither a published version nor an alias is not
/// found, and so are an invalid statement id and principal. Recorded: LocalStack's AWS-validated `test_permission_exceptions` and
/// `test_lambda_permission_fn_versioning` (tests/aws/services/lambda_/test_lambda_api.py).
pub fn add_permission(
    function: &mut Function,
    qualifier: &str,
    statement_id: &str,
    principal: &str,
    statement: Value,
) -> Result<(), Permission> {
    let sid_ok = (1..=100).contains(&statement_id.len())
        && statement_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !sid_ok {
        return Err(Permission::StatementId(statement_id.to_owned()));
    }
    let account = principal.len() == 12 && principal.bytes().all(|b| b.is_ascii_digit());
    let service = principal.ends_with(".amazonaws.com") || principal.ends_with(".amazon.com");
    if !(principal == "*" || account || service || principal.starts_with("arn:")) {
        return Err(Permission::Principal);
    }
    if qualifier == "$LATEST" {
        return Err(Permission::Latest);
    }
    let known = qualifier.is_empty()
        || function.versions.contains_key(qualifier)
        || function.aliases.contains_key(qualifier);
    if !known {
        return Err(Permission::NoQualifier(qualifier.to_owned()));
    }
    let policy = function.policies.entry(qualifier.to_owned()).or_default();
    if policy.contains_key(statement_id) {
        return Err(Permission::Duplicate(statement_id.to_owned()));
    }
    policy.insert(statement_id.to_owned(), statement);
    Ok(())
}

/// RemovePermission: the statement leaves that qualifier's policy; `false`
/// (ResourceNotFoundException) when the policy holds no such statement.
pub fn remove_permission(function: &mut Function, qualifier: &str, statement_id: &str) -> bool {
    function
        .policies
        .get_mut(qualifier)
        .is_some_and(|policy| policy.remove(statement_id).is_some())
}

/// GetPolicy: the statements of that qualifier's own policy; `None` (ResourceNotFoundException)
/// when it has none.
pub fn policy<'f>(function: &'f Function, qualifier: &str) -> Option<&'f BTreeMap<String, Value>> {
    function.policies.get(qualifier).filter(|p| !p.is_empty())
}

/// A statement as AddPermission writes it (and GetPolicy answers it) for `principal`, on the
/// function `function_arn` or one of its qualifiers (`qualifier` empty for none), with its
/// condition on `source_arn` when one is given (recorded: LocalStack's AWS-validated
/// `test_lambda_permission_fn_versioning`, add_permission, get_policy).
pub fn statement(
    function_arn: &str,
    qualifier: &str,
    statement_id: &str,
    action: &str,
    principal: &str,
    source_arn: Option<&str>,
) -> Value {
    let resource = match qualifier {
        "" => function_arn.to_owned(),
        q => format!("{function_arn}:{q}"),
    };
    let mut statement = json!({
        "Sid": statement_id, "Effect": "Allow", "Action": action,
        "Principal": {"Service": principal}, "Resource": resource,
    });
    if let Some(source) = source_arn {
        statement["Condition"] = json!({"ArnLike": {"AWS:SourceArn": source}});
    }
    statement
}
