//! SDK errors as the domain's [`CloudError`]: each service's error code classified once.
use std::{error::Error as StdError, fmt};

use aws_sdk_lambda::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use bgd_core::cloud::{CloudError, CloudResult, ErrorKind, Operation};

/// The one way this crate turns an SDK call's error into a [`CloudError`].
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
        | "LifecyclePolicyNotFoundException"
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
            "LifecyclePolicyNotFoundException",
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
