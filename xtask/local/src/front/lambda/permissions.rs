//! A function's resource policies, one per qualifier as Lambda keeps them (moto keeps one per
//! function): AddPermission, GetPolicy, RemovePermission.
use axum::{body::Bytes, http::StatusCode};
use serde_json::Value;

use super::{json_headers, no_content};
use crate::front::{
    Answer, Call, Front, refuse,
    state::{name_of, now_ms},
};

/// AddPermission, kept per qualifier as Lambda keeps it ([`bgd_rules::lambda::add_permission`];
/// moto keeps one policy per function); a function the front never saw goes to moto.
pub(super) async fn add(front: &Front, call: &Call, key: &str, qualifier: Option<&str>) -> Answer {
    let mut books = front.books.lock().await;
    let Some(function) = books.functions.get_mut(key) else {
        return front.forward(call).await;
    };
    let body = call.json();
    let qualifier = qualifier.unwrap_or_default();
    let name = name_of(key);
    let function_arn = format!(
        "arn:aws:lambda:{}:{}:function:{name}",
        call.region, call.account
    );
    let sid = body["StatementId"].as_str().unwrap_or_default();
    let principal = body["Principal"].as_str().unwrap_or_default();
    let action = body["Action"].as_str().unwrap_or_default();
    let statement = bgd_rules::lambda::statement(
        &function_arn,
        qualifier,
        sid,
        action,
        principal,
        body["SourceArn"].as_str(),
    );
    match bgd_rules::lambda::add_permission(function, qualifier, sid, principal, statement.clone())
    {
        Err(refusal) => {
            let (status, code) = refusal.answered();
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            refuse(status, code, &refusal.message(name))
        }
        Ok(()) => {
            front.save(&books).await;
            let body = serde_json::json!({"Statement": statement.to_string()});
            Answer {
                status: StatusCode::CREATED,
                headers: json_headers(),
                body: Bytes::from(body.to_string()),
            }
        }
    }
}

/// GetPolicy of one qualifier's own policy.
pub(super) async fn get(front: &Front, call: &Call, key: &str, qualifier: Option<&str>) -> Answer {
    let books = front.books.lock().await;
    let Some(function) = books.functions.get(key) else {
        return front.forward(call).await;
    };
    let name = name_of(key);
    let Some(statements) = bgd_rules::lambda::policy(function, qualifier.unwrap_or_default())
    else {
        let message = format!("The resource you requested does not exist. ({name})");
        return refuse(StatusCode::NOT_FOUND, "ResourceNotFoundException", &message);
    };
    let statements: Vec<&Value> = statements.values().collect();
    let document =
        serde_json::json!({"Version": "2012-10-17", "Id": "default", "Statement": statements});
    let body = serde_json::json!({"Policy": document.to_string(), "RevisionId": function.revision_at(now_ms())});
    Answer {
        status: StatusCode::OK,
        headers: json_headers(),
        body: Bytes::from(body.to_string()),
    }
}

/// RemovePermission from one qualifier's own policy.
pub(super) async fn remove(
    front: &Front,
    call: &Call,
    key: &str,
    qualifier: Option<&str>,
    statement: &str,
) -> Answer {
    let mut books = front.books.lock().await;
    let Some(function) = books.functions.get_mut(key) else {
        return front.forward(call).await;
    };
    let qualifier = qualifier.unwrap_or_default();
    if !bgd_rules::lambda::remove_permission(function, qualifier, statement) {
        let message = format!("Statement {statement} is not found in resource policy.");
        return refuse(StatusCode::NOT_FOUND, "ResourceNotFoundException", &message);
    }
    front.save(&books).await;
    no_content()
}
