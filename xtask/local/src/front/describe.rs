//! Lambda's answers as the front gives them: its error answers, and moto's configuration
//! answers rewritten with what the front knows of each version (its state, the image it was
//! published with, CodeSha256 its digest's hex, its architecture, the function's RevisionId).
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{
    Answer, Front, refuse,
    state::{Books, Function, now_ms},
};
use bgd_rules::lambda::{Answered, Refusal, digest_hex, state_reason, update_reason};

/// Rewrites one function configuration with what the front knows of that version; returns
/// the image that version runs and its ImageUri as given (a tag, or the same).
pub(super) fn describe(
    config: &mut Value,
    function: &Function,
    front: &Front,
) -> Option<(String, String)> {
    let now = now_ms();
    let version = config["Version"].as_str().unwrap_or("$LATEST").to_owned();
    let (image, given, architecture, status, update) = if version == "$LATEST" {
        (
            &function.image,
            &function.given_image,
            &function.architecture,
            function.status(now, &front.delays()),
            function.last_update_status(now),
        )
    } else {
        let published = function.versions.get(&version)?;
        let status = published.status(now, &front.delays());
        (
            &published.image,
            &published.given_image,
            &published.architecture,
            status,
            published.last_update_status(now),
        )
    };
    let (image, given) = (
        image.clone(),
        given.clone().unwrap_or_else(|| image.clone()),
    );
    config["CodeSha256"] = json!(digest_hex(&image));
    config["Architectures"] = json!([architecture]);
    config["State"] = json!(status.as_str());
    let object = config
        .as_object_mut()
        .expect("a configuration is an object");
    object.remove("StateReason");
    object.remove("StateReasonCode");
    if let Some((reason, code)) = state_reason(status.as_str()) {
        object.insert("StateReason".into(), json!(reason));
        object.insert("StateReasonCode".into(), json!(code));
    }
    for field in [
        "LastUpdateStatus",
        "LastUpdateStatusReason",
        "LastUpdateStatusReasonCode",
    ] {
        object.remove(field);
    }
    if let Some(update) = update {
        object.insert("LastUpdateStatus".into(), json!(update));
        if let Some((reason, code)) = update_reason(update) {
            object.insert("LastUpdateStatusReason".into(), json!(reason));
            object.insert("LastUpdateStatusReasonCode".into(), json!(code));
        }
    }
    let revision = match function.versions.get(&version) {
        Some(published) => &published.revision,
        None => function.revision_at(now),
    };
    object.insert("RevisionId".into(), json!(revision));
    Some((image, given))
}

/// A configuration answer (or GetFunction's `{Configuration, Code}`) rewritten.
pub(super) fn describe_answer(front: &Front, books: &Books, key: &str, answer: Answer) -> Answer {
    let Some(function) = books
        .functions
        .get(key)
        .filter(|_| answer.status.is_success())
    else {
        return answer;
    };
    let mut body = answer.json();
    let config = if body.get("Configuration").is_some() {
        &mut body["Configuration"]
    } else {
        &mut body
    };
    let image = describe(config, function, front);
    if let Some((image, given)) = image.filter(|_| body.get("Code").is_some()) {
        body["Code"]["ImageUri"] = json!(given);
        body["Code"]["ResolvedImageUri"] = json!(image);
    }
    answer.with_json(&body)
}

/// A write answered with a configuration, rewritten.
pub(super) fn described(front: &Front, function: &Function, answer: Answer) -> Answer {
    let mut body = answer.json();
    describe(&mut body, function, front);
    answer.with_json(&body)
}

pub(super) fn conflict(message: String) -> Answer {
    refuse(StatusCode::CONFLICT, "ResourceConflictException", &message)
}

pub(super) fn invalid(message: &str) -> Answer {
    refuse(
        StatusCode::BAD_REQUEST,
        "InvalidParameterValueException",
        message,
    )
}

/// Lambda's answer to a write it refuses.
pub(super) fn refused(refusal: &Refusal, arn: &str) -> Answer {
    let message = refusal.message(arn);
    match refusal.answered() {
        Answered::Conflict => conflict(message),
        Answered::PreconditionFailed => precondition(&message),
        Answered::InvalidParameter => invalid(&message),
    }
}

pub(super) fn precondition(message: &str) -> Answer {
    refuse(
        StatusCode::PRECONDITION_FAILED,
        "PreconditionFailedException",
        message,
    )
}
