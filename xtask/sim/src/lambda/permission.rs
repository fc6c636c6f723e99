//! Lambda's resource policies in the in-memory AWS: one per qualifier, by
//! `bgd_rules::lambda`'s rules (the front's), its statements as AddPermission writes them.
use serde_json::Value;

use super::super::{
    aws::error,
    world::{ACCOUNT, World},
};
use bgd_core::cloud::{CloudError, ErrorKind, Operation};
use bgd_rules::lambda::Permission;

/// AddPermission's input.
pub(in super::super) struct Statement<'a> {
    pub function: &'a str,
    /// `""` for the unqualified function.
    pub qualifier: &'a str,
    pub statement_id: &'a str,
    pub action: &'a str,
    pub principal: &'a str,
    pub source_arn: Option<&'a str>,
}

/// Why AddPermission was refused: no function, or Lambda's rule.
pub(in super::super) enum Refused {
    NoFunction,
    Rule(Permission),
}

impl Refused {
    /// The error the pipeline's boundary reads.
    pub(in super::super) fn error(&self, op: Operation, function: &str, alias: &str) -> CloudError {
        let (kind, message) = match self {
            Self::NoFunction => (ErrorKind::NotFound, "ResourceNotFoundException".to_owned()),
            Self::Rule(refusal) => {
                let kind = match refusal.answered() {
                    (404, _) => ErrorKind::NotFound,
                    (409, _) => ErrorKind::Conflict,
                    _ => ErrorKind::Other,
                };
                (kind, refusal.message(function))
            }
        };
        error(kind, op, alias, &message)
    }
}

/// AddPermission: the statement, in its qualifier's own policy.
pub(in super::super) fn add(w: &mut World, s: &Statement<'_>) -> Result<Value, Refused> {
    let arn = format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:{}", s.function);
    let (f, _) = w.lambda.function.as_mut().ok_or(Refused::NoFunction)?;
    let (sid, principal) = (s.statement_id, s.principal);
    let statement =
        bgd_rules::lambda::statement(&arn, s.qualifier, sid, s.action, principal, s.source_arn);
    bgd_rules::lambda::add_permission(f, s.qualifier, sid, principal, statement.clone())
        .map_err(Refused::Rule)?;
    Ok(statement)
}

/// RemovePermission: `None` when there is no function, `Some(false)` when the qualifier's
/// policy has no such statement.
pub(in super::super) fn remove(w: &mut World, qualifier: &str, statement_id: &str) -> Option<bool> {
    let (f, _) = w.lambda.function.as_mut()?;
    Some(bgd_rules::lambda::remove_permission(
        f,
        qualifier,
        statement_id,
    ))
}

/// GetPolicy: the qualifier's statements (none when it has no policy); `None` when there is no
/// function.
pub(in super::super) fn policy(w: &World, qualifier: &str) -> Option<Vec<(String, Value)>> {
    let (f, _) = w.lambda.function.as_ref()?;
    let statements = bgd_rules::lambda::policy(f, qualifier).cloned();
    Some(statements.into_iter().flatten().collect())
}
