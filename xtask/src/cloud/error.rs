//! Domain errors of the cloud module: what the caller can act on (not found, conflict, a guard
//! that failed), decided by the SDK's typed error checks, never by message text.
use std::{error::Error as StdError, fmt};

use aws_sdk_lambda::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

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
    pub(crate) fn new(
        kind: ErrorKind,
        operation: Operation,
        subject: &str,
        detail: String,
    ) -> Self {
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

    pub fn is_not_ready(&self) -> bool {
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

/// The one way `cloud/` turns an SDK call's error into a [`CloudError`].
pub(crate) trait OrCloud<T> {
    fn or_cloud(self, operation: Operation, subject: &str) -> CloudResult<T>;
}

impl<T, E, R> OrCloud<T> for Result<T, SdkError<E, R>>
where
    E: StdError + ProvideErrorMetadata + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    fn or_cloud(self, operation: Operation, subject: &str) -> CloudResult<T> {
        self.map_err(|err| classify(operation, subject, err))
    }
}

fn classify<E, R>(operation: Operation, subject: &str, err: SdkError<E, R>) -> CloudError
where
    E: StdError + ProvideErrorMetadata + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    match err.as_service_error() {
        // The service's own code and message; the raw response adds nothing a user acts on.
        Some(service) => CloudError::new(
            kind_of(service.code(), service.message()),
            operation,
            subject,
            format!(
                "{}: {}",
                service.code().unwrap_or("unknown error"),
                service.message().unwrap_or_default()
            ),
        ),
        None => CloudError::new(
            ErrorKind::Other,
            operation,
            subject,
            DisplayErrorContext(&err).to_string(),
        ),
    }
}

/// What the error codes we act on mean, across Lambda, API Gateway, ECR, IAM and STS (IAM's
/// codes have no `Exception` suffix); every other code is `Other`.
fn kind_of(code: Option<&str>, message: Option<&str>) -> ErrorKind {
    match code.unwrap_or_default() {
        "ResourceNotFoundException"
        | "NotFoundException"
        | "RepositoryNotFoundException"
        | "NoSuchEntity" => ErrorKind::NotFound,
        "ResourceConflictException"
        | "ConflictException"
        | "RepositoryAlreadyExistsException"
        | "EntityAlreadyExists"
        | "DeleteConflict" => ErrorKind::Conflict,
        "PreconditionFailedException" => ErrorKind::PreconditionFailed,
        // A role just created cannot be assumed until IAM has propagated it; Lambda says so
        // only in the message (Terraform's AWS provider retries on it too:
        // hashicorp/terraform-provider-aws, lambda function create).
        "InvalidParameterValueException"
            if message.is_some_and(|m| m.contains("cannot be assumed")) =>
        {
            ErrorKind::NotReady
        }
        // A missing IAM permission (Lambda, API Gateway, ECR: AccessDeniedException; IAM, STS:
        // AccessDenied; a few: UnauthorizedOperation).
        "AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation" => {
            ErrorKind::AccessDenied
        }
        _ => ErrorKind::Other,
    }
}

/// A response the SDK accepted but that lacks a field we rely on.
pub(crate) fn missing(operation: Operation, subject: &str, field: &str) -> CloudError {
    CloudError::new(
        ErrorKind::Other,
        operation,
        subject,
        format!("the response has no {field}"),
    )
}

#[cfg(test)]
mod tests {
    use super::{ErrorKind, kind_of};

    #[test]
    fn each_services_codes_map_to_one_kind() {
        let kind = |code| kind_of(Some(code), None);
        for code in [
            "ResourceNotFoundException",
            "NotFoundException",
            "RepositoryNotFoundException",
            "NoSuchEntity",
        ] {
            assert_eq!(kind(code), ErrorKind::NotFound, "{code}");
        }
        for code in [
            "ResourceConflictException",
            "ConflictException",
            "RepositoryAlreadyExistsException",
            "EntityAlreadyExists",
            "DeleteConflict",
        ] {
            assert_eq!(kind(code), ErrorKind::Conflict, "{code}");
        }
        assert_eq!(
            kind("PreconditionFailedException"),
            ErrorKind::PreconditionFailed
        );
        assert_eq!(kind("AccessDenied"), ErrorKind::AccessDenied);
        assert_eq!(kind("InvalidParameterValueException"), ErrorKind::Other);
        let role = "The role defined for the function cannot be assumed by Lambda.";
        assert_eq!(
            kind_of(Some("InvalidParameterValueException"), Some(role)),
            ErrorKind::NotReady
        );
        assert_eq!(kind_of(None, None), ErrorKind::Other);
    }
}
