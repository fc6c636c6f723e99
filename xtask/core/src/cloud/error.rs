//! Domain errors of the cloud boundary: what the caller can act on (not found, conflict, a
//! guard that failed), decided from AWS's error codes (by `bgd-aws`), never by message text.
use std::{error::Error as StdError, fmt};

use super::Operation;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The resource does not exist.
    NotFound,
    /// It exists already, or is being changed by someone else (retry later).
    Conflict,
    /// A RevisionId/CodeSha256 guard did not match: someone else changed it.
    PreconditionFailed,
    /// The caller lacks the IAM permission (the only kind whose message names one).
    AccessDenied,
    /// Something it depends on is not usable yet (a role IAM has not propagated): retry.
    NotReady,
    /// Anything else: network, validation, throttling.
    Other,
}

#[derive(Debug)]
pub struct CloudError {
    pub kind: ErrorKind,
    pub operation: Operation,
    /// What the call was about ("alias green of bgd").
    pub subject: String,
    detail: String,
}

pub type CloudResult<T> = Result<T, CloudError>;

impl CloudError {
    pub fn new(kind: ErrorKind, operation: Operation, subject: &str, detail: String) -> Self {
        Self {
            kind,
            operation,
            subject: subject.to_owned(),
            detail,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }

    pub fn is_conflict(&self) -> bool {
        self.kind == ErrorKind::Conflict
    }

    pub fn is_precondition_failed(&self) -> bool {
        self.kind == ErrorKind::PreconditionFailed
    }

    pub(crate) fn is_not_ready(&self) -> bool {
        self.kind == ErrorKind::NotReady
    }
}

/// NotFound as `None`; every other error stays an error.
pub fn absent_as_none<T>(result: CloudResult<T>) -> CloudResult<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

impl fmt::Display for CloudError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            ErrorKind::NotFound => "not found",
            ErrorKind::Conflict => "conflicts with its current state",
            ErrorKind::PreconditionFailed => "was changed by someone else",
            ErrorKind::AccessDenied => "was denied",
            ErrorKind::NotReady => "cannot be done yet",
            ErrorKind::Other => "failed",
        };
        write!(f, "{} of {} {what}", self.operation, self.subject)?;
        if let Some(action) = self
            .operation
            .iam_action()
            .filter(|_| self.kind == ErrorKind::AccessDenied)
        {
            write!(f, " (needs {action})")?;
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

impl StdError for CloudError {}
