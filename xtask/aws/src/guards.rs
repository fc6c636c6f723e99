//! The guards (RevisionId on UpdateAlias, CodeSha256 on PublishVersion) as Lambda documents
//! its answers, replayed by aws-smithy-mocks: the real SDK, the real error types, no network.
//! The local cloud's front enforces the same guards (tests/tests/strict.rs).
use aws_config::{BehaviorVersion, Region, SdkConfig};
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
    let sdk = SdkConfig::builder()
        .region(Region::new("us-east-1"))
        .behavior_version(BehaviorVersion::latest())
        .build();
    SdkCloud {
        lambda,
        apigateway: aws_sdk_apigateway::Client::new(&sdk),
        ecr: aws_sdk_ecr::Client::new(&sdk),
        iam: aws_sdk_iam::Client::new(&sdk),
        sts: aws_sdk_sts::Client::new(&sdk),
        cloudwatch: aws_sdk_cloudwatch::Client::new(&sdk),
        region: "us-east-1".into(),
        metrics_lag: crate::cloudwatch::LAMBDA_METRICS_LAG,
        writes: Default::default(),
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
