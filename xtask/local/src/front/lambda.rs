//! Lambda as AWS behaves and moto does not (moto 5.2.5, no-Docker mode):
//! - states: a new function is Pending (its CreateFunction answer has no LastUpdateStatus), an
//!   update leaves LastUpdateStatus InProgress, a new version is Pending, an idle version goes
//!   Inactive; meanwhile updates and publishes get ResourceConflictException;
//! - a role younger than IAM's propagation cannot be assumed by CreateFunction;
//! - RevisionId (functions, aliases) and CodeSha256 (PublishVersion) guards, checked and
//!   written under one lock (moto ignores both and never changes an alias's RevisionId);
//! - CodeSha256 is the image's digest hex (moto: sha256 of the ImageUri string), and a version
//!   reports the image it was published with (moto: `$LATEST`'s);
//! - UpdateFunctionCode's `Architectures` switches the function's (moto ignores it), and a
//!   version keeps the architecture it was published on;
//! - GetAlias answers 200 (moto: 201); limits on environment, descriptions and names;
//! - each version's role and dead-letter target (moto drops DeadLetterConfig), which the alias
//!   routing rule of `alias.rs` compares;
//! - DeleteFunction of a version: refused while an alias routes to it, a success for one that
//!   does not exist, and its number never handed out again (moto deletes any version, then
//!   numbers the next `len + 1`).
mod permissions;
mod versions;
mod writes;

pub(super) use versions::invocation;

use axum::{
    body::Bytes,
    http::{Method, StatusCode},
};
use serde_json::Value;

use super::{
    Answer, Call, Front,
    alias::{alias_write, with_alias_revision},
    describe::{describe_answer, invalid},
    refuse,
    state::name_of,
};
use bgd_rules::{self, lambda::Address};

const FUNCTIONS: &str = "/2015-03-31/functions";

/// A call to Lambda's REST API: the operations whose rules moto lacks answered here (after
/// moto where it keeps the state too), the rest forwarded to moto as they are.
pub(super) async fn handle(front: &Front, call: Call) -> Answer {
    let (path, query) = call.target.split_once('?').unwrap_or((&call.target, ""));
    let Some(rest) = path.strip_prefix(FUNCTIONS) else {
        return front.forward(&call).await;
    };
    let (segments, qualifier) = match addressed(&call, rest, query) {
        Ok(addressed) => addressed,
        Err(refusal @ Address::QualifierMismatch) => return invalid(&refusal.message()),
        Err(refusal) => {
            let message = refusal.message();
            return refuse(StatusCode::NOT_FOUND, "ResourceNotFoundException", &message);
        }
    };
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let qualifier = qualifier.as_deref();
    let scope = call.scoped("");
    let key = |name: &str| format!("{scope}{name}");
    match (&call.method, segments.as_slice()) {
        (&Method::POST, []) => writes::create(front, call).await,
        (&Method::GET, [name] | [name, "configuration"]) => {
            get_function(front, &call, &key(name), qualifier).await
        }
        (&Method::DELETE, [name]) => match qualifier {
            Some(version) => versions::delete(front, &call, &key(name), name, version).await,
            None => delete_function(front, &call, &key(name)).await,
        },
        (&Method::PUT, [name, part @ ("code" | "configuration")]) => {
            writes::update(front, call, &key(name), *part == "code").await
        }
        (&Method::POST, [name, "versions"]) => writes::publish(front, call, &key(name)).await,
        (&Method::GET, [name, "versions"]) => versions::list(front, &call, &key(name)).await,
        (&Method::POST, [name, "aliases"]) => {
            let alias = call.json()["Name"].as_str().unwrap_or_default().to_owned();
            alias_write(front, call, &key(name), &alias).await
        }
        (&Method::PUT, [name, "aliases", alias]) => {
            alias_write(front, call, &key(name), alias).await
        }
        (&Method::GET, [name, "aliases", alias]) => {
            get_alias(front, &call, &key(name), alias).await
        }
        (&Method::DELETE, [name, "aliases", alias]) => {
            delete_alias(front, &call, &key(name), alias).await
        }
        (&Method::POST, [name, "policy"]) => {
            permissions::add(front, &call, &key(name), qualifier).await
        }
        (&Method::GET, [name, "policy"]) => {
            permissions::get(front, &call, &key(name), qualifier).await
        }
        (&Method::DELETE, [name, "policy", statement]) => {
            permissions::remove(front, &call, &key(name), qualifier, statement).await
        }
        _ => front.forward(&call).await,
    }
}

/// The path's segments below `/functions`, the function's name first, and the qualifier, as
/// Lambda resolves a name or an ARN (moto took an ARN of another region for the function of
/// this one, and ignored a qualifier the ARN contradicted).
fn addressed(
    call: &Call,
    rest: &str,
    query: &str,
) -> Result<(Vec<String>, Option<String>), Address> {
    let segments: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decoded)
        .collect();
    let qualifier = super::url_decoded_pairs(query.as_bytes())
        .into_iter()
        .find(|(k, _)| k == "Qualifier")
        .map(|(_, v)| v);
    let Some((given, rest)) = segments.split_first() else {
        return Ok((segments, qualifier));
    };
    let (name, qualifier) =
        bgd_rules::lambda::addressed(given, &call.region, qualifier.as_deref())?;
    Ok(([vec![name], rest.to_vec()].concat(), qualifier))
}

/// GetFunction and GetFunctionConfiguration: moto's answer, described as Lambda would.
async fn get_function(front: &Front, call: &Call, key: &str, qualifier: Option<&str>) -> Answer {
    if let Some(gone) = deleted(front, key, qualifier).await {
        return gone;
    }
    let answer = front.forward(call).await;
    let books = front.books.lock().await;
    describe_answer(front, &books, key, answer)
}

/// DeleteFunction of the whole function: moto's, and the front's books of it with it.
async fn delete_function(front: &Front, call: &Call, key: &str) -> Answer {
    let answer = front.forward(call).await;
    if answer.status.is_success() {
        let mut books = front.books.lock().await;
        books.functions.remove(key);
        front.save(&books).await;
    }
    answer
}

/// GetAlias: moto's answer with the front's RevisionId, and Lambda's status.
async fn get_alias(front: &Front, call: &Call, key: &str, alias: &str) -> Answer {
    let mut answer = front.forward(call).await;
    // moto answers 201; the SDK would take any 2xx, but AWS says 200.
    if answer.status.is_success() {
        answer.status = StatusCode::OK;
    }
    let mut books = front.books.lock().await;
    with_alias_revision(front, &mut books, key, alias, answer).await
}

/// DeleteAlias: moto's, and the alias's books and policy with it.
async fn delete_alias(front: &Front, call: &Call, key: &str, alias: &str) -> Answer {
    let answer = front.forward(call).await;
    if !answer.status.is_success() {
        return answer;
    }
    let mut books = front.books.lock().await;
    if let Some(function) = books.functions.get_mut(key) {
        function.aliases.remove(alias);
        function.policies.remove(alias);
        front.save(&books).await;
    }
    // Lambda answers 204, also for an alias that does not exist (moto: 201).
    no_content()
}

impl Front {
    /// The local registry's answer to a HEAD of a manifest of `repository` by tag or digest,
    /// as Lambda asks ECR for an image; `None` when it did not answer.
    async fn head_manifest(&self, repository: &str, reference: &str) -> Option<reqwest::Response> {
        let registry = self.registry_url.trim_end_matches('/');
        self.http
            .head(format!("{registry}/v2/{repository}/manifests/{reference}"))
            .header("accept", super::MANIFEST_TYPES)
            .send()
            .await
            .ok()
    }
}

/// Lambda's answer for a version of a function the front knows that is not (or no longer)
/// published: moto still holds the versions the front deleted.
async fn deleted(front: &Front, key: &str, qualifier: Option<&str>) -> Option<Answer> {
    let version = qualifier.filter(|q| q.bytes().all(|b| b.is_ascii_digit()))?;
    let books = front.books.lock().await;
    let function = books.functions.get(key)?;
    (!function.versions.contains_key(version)).then(|| {
        let name = name_of(key);
        refuse(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!("Function not found: {name}:{version}"),
        )
    })
}

/// A path segment percent-decoded (RFC 3986: a `+` in a path is a `+`).
fn percent_decoded(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

/// The request's environment and description against Lambda's limits.
pub(super) fn limits(body: &Value) -> Option<Answer> {
    let variables = body["Environment"]["Variables"]
        .as_object()
        .map(|vars| {
            vars.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    if let Some(error) = bgd_rules::environment_error(&variables) {
        return Some(invalid(&error));
    }
    let description = body["Description"].as_str().unwrap_or_default();
    bgd_rules::description_error(description)
        .map(|error| refuse(StatusCode::BAD_REQUEST, "ValidationException", &error))
}

/// The call with some fields of its JSON body removed (the guards moto would misjudge).
pub(super) fn without(call: &Call, fields: &[&str]) -> Call {
    let mut body = call.json();
    if let Some(object) = body.as_object_mut() {
        for field in fields {
            object.remove(*field);
        }
    }
    Call {
        method: call.method.clone(),
        target: call.target.clone(),
        headers: call.headers.clone(),
        body: Bytes::from(body.to_string()),
        region: call.region.clone(),
        service: call.service.clone(),
        account: call.account.clone(),
    }
}

fn no_content() -> Answer {
    Answer {
        status: StatusCode::NO_CONTENT,
        headers: Default::default(),
        body: Bytes::new(),
    }
}

fn json_headers() -> axum::http::HeaderMap {
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(
        "content-type",
        axum::http::HeaderValue::from_static("application/json"),
    );
    headers
}
