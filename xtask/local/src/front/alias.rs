//! Lambda's aliases as AWS behaves and moto does not: the RevisionId guard checked and the
//! alias written under one lock (moto never changes an alias's RevisionId), and the routing
//! configuration as Lambda restricts it (moto stores any): one more published version,
//! weights from 0 to 1, the same role and dead-letter target.
use axum::{
    body::Bytes,
    http::{Method, StatusCode},
};
use serde_json::{Value, json};

use super::{
    Answer, Call, Front,
    describe::{invalid, refused},
    lambda::{limits, without},
    refuse,
    state::{Books, Function, name_of, revision},
};
use bgd_rules::{
    self,
    lambda::{Routing, alias_moved, routing_refusal},
};

/// CreateAlias or UpdateAlias: names and descriptions checked, the RevisionId guard and the
/// routing configuration checked and the alias written under one lock, a new RevisionId
/// answered.
pub(super) async fn alias_write(front: &Front, call: Call, key: &str, alias: &str) -> Answer {
    let body = call.json();
    let update = call.method == Method::PUT;
    if let Some(error) = bgd_rules::alias_name_error(alias) {
        return refuse(StatusCode::BAD_REQUEST, "ValidationException", &error);
    }
    if let Some(refused) = limits(&body) {
        return refused;
    }
    let mut books = front.books.lock().await;
    let current = books
        .functions
        .get(key)
        .and_then(|f| f.aliases.get(alias))
        .cloned();
    if let Some(refusal) = alias_moved(current.as_deref(), body["RevisionId"].as_str()) {
        return refused(&refusal, key);
    }
    // A version deleted (moto still holds it: `lambda.rs`) is as gone as on AWS.
    if let (Some(function), Some(main)) =
        (books.functions.get(key), body["FunctionVersion"].as_str())
        && main != "$LATEST"
        && !function.versions.contains_key(main)
    {
        let name = name_of(key);
        let message = format!("Function not found: {name}:{main}");
        return refuse(StatusCode::NOT_FOUND, "ResourceNotFoundException", &message);
    }
    if let Some(function) = books.functions.get(key)
        && let Some(refusal) = routing(front, &call, &body, function, key).await
    {
        return match refusal {
            Routing::Constraint(m) => refuse(StatusCode::BAD_REQUEST, "ValidationException", &m),
            Routing::NotFound(m) => refuse(StatusCode::NOT_FOUND, "ResourceNotFoundException", &m),
            Routing::Invalid(m) => invalid(&m),
        };
    }
    let mut answer = front.forward(&without(&call, &["RevisionId"])).await;
    if answer.status == StatusCode::CONFLICT {
        // moto's code is ConflictException; Lambda's, ResourceConflictException.
        let message = answer.json()["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        return refuse(StatusCode::CONFLICT, "ResourceConflictException", &message);
    }
    if !answer.status.is_success() {
        return answer;
    }
    if update {
        // moto answers UpdateAlias with 201; Lambda with 200.
        answer.status = StatusCode::OK;
    }
    if let Some(function) = books.functions.get_mut(key) {
        function.aliases.insert(alias.to_owned(), revision());
    }
    with_alias_revision(front, &mut books, key, alias, answer).await
}

/// The alias write's routing configuration against Lambda's rules. The main version is the
/// call's FunctionVersion, or (an UpdateAlias without one) the alias's as moto has it.
async fn routing(
    front: &Front,
    call: &Call,
    body: &Value,
    function: &Function,
    key: &str,
) -> Option<Routing> {
    let weights = body["RoutingConfig"]["AdditionalVersionWeights"].as_object()?;
    let weights = weights
        .iter()
        .map(|(v, w)| (v.clone(), w.as_f64().unwrap_or(f64::NAN)))
        .collect();
    let main = match body["FunctionVersion"].as_str() {
        Some(main) => main.to_owned(),
        None => {
            let path = call.target.split('?').next().unwrap_or_default();
            let read = Call {
                method: Method::GET,
                target: path.to_owned(),
                body: Bytes::new(),
                ..without(call, &[])
            };
            front.forward(&read).await.json()["FunctionVersion"]
                .as_str()?
                .to_owned()
        }
    };
    let name = name_of(key);
    routing_refusal(function, name, &main, &weights)
}

/// The alias answer with the RevisionId the front keeps (one is made for an alias it has not
/// seen written).
pub(super) async fn with_alias_revision(
    front: &Front,
    books: &mut Books,
    key: &str,
    alias: &str,
    answer: Answer,
) -> Answer {
    let Some(function) = books
        .functions
        .get_mut(key)
        .filter(|_| answer.status.is_success())
    else {
        return answer;
    };
    let known = function.aliases.contains_key(alias);
    let revision = function
        .aliases
        .entry(alias.to_owned())
        .or_insert_with(revision)
        .clone();
    if !known {
        front.save(books).await;
    }
    let mut body = answer.json();
    body["RevisionId"] = json!(revision);
    // No weights is no RoutingConfig in Lambda's answers (moto answers `{}` or null).
    let weights = &body["RoutingConfig"]["AdditionalVersionWeights"];
    if weights.as_object().is_none_or(|w| w.is_empty())
        && let Some(object) = body.as_object_mut()
    {
        object.remove("RoutingConfig");
    }
    answer.with_json(&body)
}
