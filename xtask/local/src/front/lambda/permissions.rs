//! A function's resource policies, one per qualifier as Lambda keeps them (moto keeps one per
//! function): AddPermission, GetPolicy, RemovePermission.
use axum::{body::Bytes, http::StatusCode};
use serde_json::Value;

use super::{json_headers, no_content};
use crate::front::{
    Answer, Call, Front,
    describe::{conflict, invalid},
    refuse,
    state::now_ms,
};
use bgd_rules::lambda::Permission;

/// AddPermission, kept per qualifier as Lambda keeps it ([`bgd_rules::lambda::add_permission`];
/// moto keeps one policy per function); a function the front never saw goes to moto.
pub(super) async fn add(front: &Front, call: &Call, key: &str, qualifier: Option<&str>) -> Answer {
    let mut books = front.books.lock().await;
    let Some(function) = books.functions.get_mut(key) else {
        return front.forward(call).await;
    };
    let body = call.json();
    let qualifier = qualifier.unwrap_or_default();
    let (region, name) = key.split_once('/').unwrap_or(("", key));
    // moto's one account.
    let account = "123456789012";
    let resource = match qualifier {
        "" => format!("arn:aws:lambda:{region}:{account}:function:{name}"),
        q => format!("arn:aws:lambda:{region}:{account}:function:{name}:{q}"),
    };
    let sid = body["StatementId"].as_str().unwrap_or_default();
    let mut statement = serde_json::json!({
        "Sid": sid, "Effect": "Allow", "Action": body["Action"],
        "Principal": {"Service": body["Principal"]}, "Resource": resource,
    });
    if let Some(source) = body["SourceArn"].as_str() {
        statement["Condition"] = serde_json::json!({"ArnLike": {"AWS:SourceArn": source}});
    }
    let principal = body["Principal"].as_str().unwrap_or_default();
    match bgd_rules::lambda::add_permission(function, qualifier, sid, principal, statement.clone())
    {
        Err(refusal @ Permission::StatementId(_)) => refuse(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            &refusal.message(name),
        ),
        Err(refusal @ (Permission::Latest | Permission::Principal)) => {
            invalid(&refusal.message(name))
        }
        Err(refusal @ Permission::NoQualifier(_)) => refuse(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &refusal.message(name),
        ),
        Err(refusal) => conflict(refusal.message(name)),
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
    let name = key.split_once('/').map_or(key, |(_, name)| name);
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
