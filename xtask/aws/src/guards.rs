//! The guards (RevisionId on UpdateAlias, CodeSha256 on PublishVersion) as Lambda documents
//! its answers, replayed by aws-smithy-mocks: the real SDK, the real error types, no network.
//! The local cloud's front enforces the same guards (tests/tests/strict/).
use aws_sdk_lambda::{
    Client,
    error::ErrorMetadata,
    operation::{publish_version::PublishVersionError, update_alias::UpdateAliasError},
    types::error::{InvalidParameterValueException, PreconditionFailedException},
};
use aws_smithy_mocks::{mock, mock_client};

use super::{AliasTarget, Functions, SdkCloud};

/// A SdkCloud on AWS whose Lambda client is `lambda`; the other clients are never called.
fn with_lambda(lambda: Client) -> SdkCloud {
    SdkCloud {
        lambda,
        ..super::unconnected()
    }
}

/// The error as the SDK parses Lambda's answer: the code in its metadata, as in every service
/// error `cloud/` classifies.
fn precondition_failed(message: &str) -> PreconditionFailedException {
    PreconditionFailedException::builder()
        .message(message)
        .meta(
            ErrorMetadata::builder()
                .code("PreconditionFailedException")
                .message(message)
                .build(),
        )
        .build()
}

/// Lambda as it answers when green moved after we read its RevisionId: any guarded
/// UpdateAlias fails with PreconditionFailedException.
fn green_moved_by_someone_else() -> SdkCloud {
    let moved = mock!(Client::update_alias)
        .match_requests(|request| request.revision_id().is_some())
        .then_error(|| {
            UpdateAliasError::PreconditionFailedException(precondition_failed(
                "The Revision Id provided does not match the latest Revision Id.",
            ))
        });
    with_lambda(mock_client!(aws_sdk_lambda, [&moved]))
}

#[tokio::test]
async fn update_alias_with_a_stale_revision_id_is_precondition_failed_smithy_mock() {
    let cloud = green_moved_by_someone_else();
    let err = cloud
        .update_alias(
            "bgd",
            "green",
            &AliasTarget::version("7"),
            None,
            Some("stale"),
        )
        .await
        .unwrap_err();
    assert!(err.is_precondition_failed(), "{err}");
}

/// Lambda's answer to a PublishVersion whose CodeSha256 is not `$LATEST`'s, as recorded
/// against AWS (aws-behaviours row 7): InvalidParameterValueException, not PreconditionFailed.
#[tokio::test]
async fn publish_version_of_other_code_is_an_invalid_parameter_not_a_precondition_smithy_mock() {
    let message = "CodeSHA256 (cdcd) is different from current CodeSHA256 in $LATEST (abab). Please try again with the CodeSHA256 in $LATEST.";
    let other_code = mock!(Client::publish_version)
        // Only a request that carries a CodeSha256 can fail the guard: were the guard dropped
        // (no CodeSha256 sent), no rule would match and the assertion below would fail.
        .match_requests(|request| {
            request
                .code_sha256()
                .is_some_and(|sent| sent != "ab".repeat(32))
        })
        .then_error(move || {
            PublishVersionError::InvalidParameterValueException(
                InvalidParameterValueException::builder()
                    .message(message)
                    .meta(
                        ErrorMetadata::builder()
                            .code("InvalidParameterValueException")
                            .message(message)
                            .build(),
                    )
                    .build(),
            )
        });
    let cloud = with_lambda(mock_client!(aws_sdk_lambda, [&other_code]));
    let err = cloud
        .publish_version("bgd", &"cd".repeat(32), "bgd g=...")
        .await
        .unwrap_err();
    assert!(!err.is_precondition_failed(), "{err}");
    assert!(
        err.to_string()
            .contains("different from current CodeSHA256"),
        "{err}"
    );
}

/// The guard's other side (security-audit-3 #29: only the refusal was tested): a CodeSha256
/// that is `$LATEST`'s publishes, and the version Lambda answers is the one returned.
#[tokio::test]
async fn publish_version_of_latest_s_code_publishes_smithy_mock() {
    let latest = "ab".repeat(32);
    let matching = mock!(Client::publish_version)
        .match_requests({
            let latest = latest.clone();
            move |request| request.code_sha256() == Some(latest.as_str())
        })
        .then_output({
            let latest = latest.clone();
            move || {
                aws_sdk_lambda::operation::publish_version::PublishVersionOutput::builder()
                    .function_name("bgd")
                    .function_arn("arn:aws:lambda:us-east-1:123456789012:function:bgd:8")
                    .version("8")
                    .code_sha256(&latest)
                    .description("bgd g=...")
                    .build()
            }
        });
    let cloud = with_lambda(mock_client!(aws_sdk_lambda, [&matching]));
    let published = cloud
        .publish_version("bgd", &latest, "bgd g=...")
        .await
        .unwrap();
    assert_eq!(
        (published.version.as_str(), published.code_sha256.as_str()),
        ("8", latest.as_str())
    );
}
