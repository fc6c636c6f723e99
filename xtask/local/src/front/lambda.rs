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
use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{Method, StatusCode},
};
use serde_json::Value;
use tokio::sync::MutexGuard;

use super::{
    Answer, Call, Front,
    alias::{alias_write, with_alias_revision},
    describe::{conflict, describe, describe_answer, described, invalid, refused},
    refuse,
    state::{Books, Function, Status, now_ms, revision},
};
use bgd_rules::{
    self,
    lambda::{
        Address, Deletion, Refusal, RunsAs, busy_or_moved, code_sha256_moved, default_architecture,
    },
};

const FUNCTIONS: &str = "/2015-03-31/functions";

pub(super) async fn handle(front: &Front, call: Call) -> Answer {
    let (mut segments, qualifier) = match addressed(&call) {
        None => return front.forward(&call).await,
        Some(Err(refused)) => return refused,
        Some(Ok(addressed)) => addressed,
    };
    let segments: Vec<&str> = segments.iter_mut().map(|s| s.as_str()).collect();
    let region = call.region.clone();
    let key = |name: &str| format!("{region}/{name}");
    match (&call.method, segments.as_slice()) {
        (&Method::POST, []) => create(front, call).await,
        (&Method::GET, [name]) | (&Method::GET, [name, "configuration"]) => {
            let key = key(name);
            if let Some(gone) = deleted(front, &key, qualifier.as_deref()).await {
                return gone;
            }
            let answer = front.forward(&call).await;
            let books = front.books.lock().await;
            describe_answer(front, &books, &key, answer)
        }
        (&Method::DELETE, [name]) if qualifier.is_some() => {
            let version = qualifier.as_deref().unwrap_or_default();
            delete_version(front, &call, &key(name), name, version).await
        }
        (&Method::DELETE, [name]) => {
            let key = key(name);
            let answer = front.forward(&call).await;
            if answer.status.is_success() && qualifier.is_none() {
                let mut books = front.books.lock().await;
                books.functions.remove(&key);
                front.save(&books).await;
            }
            answer
        }
        (&Method::PUT, [name, part @ ("code" | "configuration")]) => {
            update(front, call, &key(name), *part == "code").await
        }
        (&Method::POST, [name, "versions"]) => publish(front, call, &key(name)).await,
        (&Method::GET, [name, "versions"]) => list_versions(front, &call, &key(name)).await,
        (&Method::POST, [name, "aliases"]) => {
            let alias = call.json()["Name"].as_str().unwrap_or_default().to_owned();
            alias_write(front, call, &key(name), &alias).await
        }
        (&Method::PUT, [name, "aliases", alias]) => {
            alias_write(front, call, &key(name), alias).await
        }
        (&Method::DELETE, [name, "aliases", alias]) => {
            delete_alias(front, &call, &key(name), alias).await
        }
        (&Method::POST, [name, "policy"]) => {
            permission(front, &call, &key(name), qualifier.as_deref()).await
        }
        (&Method::DELETE, [name, "policy", statement]) => {
            let qualifier = qualifier.as_deref().unwrap_or_default();
            remove_permission(front, &call, &key(name), qualifier, statement).await
        }
        (&Method::GET, [name, "policy"]) => {
            policy(front, &call, &key(name), qualifier.as_deref()).await
        }
        (&Method::GET, [name, "aliases", alias]) => {
            let mut answer = front.forward(&call).await;
            // moto answers 201; the SDK would take any 2xx, but AWS says 200.
            if answer.status.is_success() {
                answer.status = StatusCode::OK;
            }
            let mut books = front.books.lock().await;
            with_alias_revision(front, &mut books, &key(name), alias, answer).await
        }
        _ => front.forward(&call).await,
    }
}

/// A path's segments and the qualifier, as [`addressed`] reads them.
type Addressed = (Vec<String>, Option<String>);

/// The path's segments after `/functions`, the first naming the function as Lambda resolves a
/// name or an ARN (moto took an ARN of another region for the function of this one, and ignored
/// a qualifier the ARN contradicted), and the qualifier; `None` for a path elsewhere, `Err` for
/// Lambda's refusal of the name.
fn addressed(call: &Call) -> Option<Result<Addressed, Answer>> {
    let (path, query) = call.target.split_once('?').unwrap_or((&call.target, ""));
    let rest = path.strip_prefix(FUNCTIONS)?;
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
        return Some(Ok((segments, qualifier)));
    };
    Some(
        match bgd_rules::lambda::addressed(given, &call.region, qualifier.as_deref()) {
            Ok((name, qualifier)) => Ok(([vec![name], rest.to_vec()].concat(), qualifier)),
            Err(refusal @ Address::QualifierMismatch) => Err(invalid(&refusal.message())),
            Err(refusal) => {
                let message = refusal.message();
                Err(refuse(
                    StatusCode::NOT_FOUND,
                    "ResourceNotFoundException",
                    &message,
                ))
            }
        },
    )
}

/// ListVersionsByFunction: moto's list, without the versions the front deleted (moto keeps
/// them, so it never numbers a version again) and without what a listing leaves out.
async fn list_versions(front: &Front, call: &Call, key: &str) -> Answer {
    let answer = front.forward(call).await;
    let books = front.books.lock().await;
    let Some(function) = books.functions.get(key) else {
        return answer;
    };
    let mut body = answer.json();
    if let Some(versions) = body["Versions"].as_array_mut() {
        versions.retain(|config| {
            let version = config["Version"].as_str().unwrap_or_default();
            version == "$LATEST" || function.versions.contains_key(version)
        });
        for config in versions {
            describe(config, function, front);
            if let Some(config) = config.as_object_mut() {
                for field in bgd_rules::lambda::LISTED_WITHOUT {
                    config.remove(*field);
                }
            }
        }
    }
    answer.with_json(&body)
}

/// DeleteAlias: the alias and its resource policy go. Lambda answers 204, also for an alias
/// that does not exist (moto: 201).
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
    no_content()
}

/// RemovePermission from one qualifier's policy ([`bgd_rules::lambda::remove_permission`]).
async fn remove_permission(
    front: &Front,
    call: &Call,
    key: &str,
    qualifier: &str,
    statement: &str,
) -> Answer {
    let mut books = front.books.lock().await;
    let Some(function) = books.functions.get_mut(key) else {
        return front.forward(call).await;
    };
    if !bgd_rules::lambda::remove_permission(function, qualifier, statement) {
        let message = format!("Statement {statement} is not found in resource policy.");
        return refuse(StatusCode::NOT_FOUND, "ResourceNotFoundException", &message);
    }
    front.save(&books).await;
    no_content()
}

/// DeleteFunction of one version, as Lambda rules it ([`bgd_rules::lambda::delete_version`]):
/// moto, which deletes any version and then numbers the next one `len + 1` (reusing a deleted
/// number), is not asked; the version leaves only the front's books, and every read of it
/// answers as for a version that does not exist.
async fn delete_version(
    front: &Front,
    call: &Call,
    key: &str,
    name: &str,
    version: &str,
) -> Answer {
    let list = Call {
        method: Method::GET,
        target: format!("{FUNCTIONS}/{name}/aliases"),
        body: Bytes::new(),
        ..without(call, &[])
    };
    let listed = front.forward(&list).await;
    if !listed.status.is_success() {
        return listed;
    }
    let aliases = listed.json()["Aliases"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|alias| {
            let mut routes = vec![
                alias["FunctionVersion"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            ];
            let weights = alias["RoutingConfig"]["AdditionalVersionWeights"].as_object();
            routes.extend(weights.into_iter().flatten().map(|(v, _)| v.clone()));
            (
                alias["Name"].as_str().unwrap_or_default().to_owned(),
                routes,
            )
        })
        .collect();
    let mut books = front.books.lock().await;
    let Some(function) = books.functions.get_mut(key) else {
        return front.forward(call).await;
    };
    match bgd_rules::lambda::delete_version(function, version, &aliases) {
        Err(refusal @ Deletion::Latest) => invalid(&refusal.message()),
        Err(refusal) => conflict(refusal.message()),
        Ok(()) => {
            front.save(&books).await;
            no_content()
        }
    }
}

fn no_content() -> Answer {
    Answer {
        status: StatusCode::NO_CONTENT,
        headers: Default::default(),
        body: Bytes::new(),
    }
}

/// AddPermission, kept per qualifier as Lambda keeps it ([`bgd_rules::lambda::add_permission`];
/// moto keeps one policy per function); a function the front never saw goes to moto.
async fn permission(front: &Front, call: &Call, key: &str, qualifier: Option<&str>) -> Answer {
    let mut books = front.books.lock().await;
    let Some(function) = books.functions.get_mut(key) else {
        return front.forward(call).await;
    };
    let body = call.json();
    let qualifier = qualifier.unwrap_or_default();
    let (region, name) = key.split_once('/').unwrap_or(("", key));
    let function_arn = format!("arn:aws:lambda:{region}:{}:function:{name}", super::ACCOUNT);
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
async fn policy(front: &Front, call: &Call, key: &str, qualifier: Option<&str>) -> Answer {
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

fn json_headers() -> axum::http::HeaderMap {
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(
        "content-type",
        axum::http::HeaderValue::from_static("application/json"),
    );
    headers
}

/// Lambda's answer for a version of a function the front knows that is not (or no longer)
/// published: moto still holds the versions the front deleted.
async fn deleted(front: &Front, key: &str, qualifier: Option<&str>) -> Option<Answer> {
    let version = qualifier.filter(|q| q.bytes().all(|b| b.is_ascii_digit()))?;
    let books = front.books.lock().await;
    let function = books.functions.get(key)?;
    (!function.versions.contains_key(version)).then(|| {
        let name = key.split_once('/').map_or(key, |(_, name)| name);
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

/// A request's dead-letter target; an empty TargetArn removes it, as on Lambda.
fn dead_letter(body: &Value) -> Option<String> {
    body["DeadLetterConfig"]["TargetArn"]
        .as_str()
        .filter(|arn| !arn.is_empty())
        .map(str::to_owned)
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
    }
}

async fn create(front: &Front, call: Call) -> Answer {
    let body = call.json();
    let name = body["FunctionName"].as_str().unwrap_or_default();
    if let Some(error) = bgd_rules::function_name_error(name) {
        return refuse(StatusCode::BAD_REQUEST, "ValidationException", &error);
    }
    if let Some(refused) = limits(&body) {
        return refused;
    }
    let mut books = front.books.lock().await;
    let now = now_ms();
    let role = body["Role"].as_str().unwrap_or_default();
    let role = role.rsplit('/').next().unwrap_or_default();
    if books
        .roles
        .get(role)
        .is_some_and(|created| now < created + front.delays().role_ms)
    {
        return invalid("The role defined for the function cannot be assumed by Lambda.");
    }
    let given = body["Code"]["ImageUri"].as_str().unwrap_or_default();
    let resolved = match front.resolved(given).await {
        Ok(resolved) => resolved,
        Err(refused) => return refused,
    };
    let answer = front.forward(&call).await;
    if !answer.status.is_success() {
        return answer;
    }
    // Pending from Lambda's answer on (however long moto took to give it).
    let mut function = Function {
        image: resolved.clone().unwrap_or_else(|| given.to_owned()),
        given_image: resolved.map(|_| given.to_owned()),
        active_at: now_ms() + front.delays().pending_ms,
        updated_at: None,
        idle_when_updated: false,
        revision: revision(),
        settled_revision: revision(),
        // moto checked the name (one of Lambda's two) before answering.
        architecture: body["Architectures"][0]
            .as_str()
            .map_or_else(default_architecture, str::to_owned),
        runs_as: RunsAs {
            role: body["Role"].as_str().unwrap_or_default().to_owned(),
            dead_letter: dead_letter(&body),
        },
        versions: Default::default(),
        aliases: Default::default(),
        policies: Default::default(),
    };
    let pending_until = function.active_at;
    published_with(&mut function, &body, &answer, pending_until);
    let answer = described(front, &function, answer);
    books
        .functions
        .insert(format!("{}/{name}", call.region), function);
    front.save(&books).await;
    answer
}

/// What every write to an existing function checks first: the limits, then, under the books'
/// lock (which the caller keeps across its forward to moto, so guard and write are atomic),
/// that the function is neither busy nor moved since the RevisionId the call names. `Err` is
/// the answer to give; a function the front never saw goes to moto as it is.
async fn guarded<'a>(
    front: &'a Front,
    call: &Call,
    body: &Value,
    key: &str,
) -> Result<(MutexGuard<'a, Books>, Function), Answer> {
    if let Some(refused) = limits(body) {
        return Err(refused);
    }
    let books = front.books.lock().await;
    let Some(function) = books.functions.get(key).cloned() else {
        return Err(front.forward(call).await);
    };
    if let Some(refusal) = busy_or_moved(&function, now_ms(), body["RevisionId"].as_str()) {
        return Err(refused(&refusal, key));
    }
    Ok((books, function))
}

async fn update(front: &Front, call: Call, key: &str, code: bool) -> Answer {
    let body = call.json();
    let architectures: Option<Vec<&str>> = body["Architectures"].as_array().map(|names| {
        names
            .iter()
            .map(|n| n.as_str().unwrap_or_default())
            .collect()
    });
    if let Some(error) = architectures
        .as_deref()
        .and_then(bgd_rules::architectures_error)
    {
        return refuse(StatusCode::BAD_REQUEST, "ValidationException", &error);
    }
    let (mut books, _) = match guarded(front, &call, &body, key).await {
        Ok(checked) => checked,
        Err(answer) => return answer,
    };
    // Every function the front keeps is an image function.
    let image = match (code, body["ImageUri"].as_str()) {
        (false, _) => None,
        (true, None) => return invalid(bgd_rules::lambda::IMAGE_UPDATE_WITHOUT_IMAGE),
        (true, Some(given)) => match front.resolved(given).await {
            Ok(resolved) => Some((given.to_owned(), resolved)),
            Err(refused) => return refused,
        },
    };
    let answer = front.forward(&without(&call, &["RevisionId"])).await;
    if !answer.status.is_success() {
        return answer;
    }
    let function = books.functions.get_mut(key).expect("read above");
    function.begin_update(now_ms(), &front.delays());
    function.revise(revision(), revision());
    if let Some((given, resolved)) = image {
        function.image = resolved.clone().unwrap_or_else(|| given.clone());
        function.given_image = resolved.map(|_| given);
    }
    if let Some([architecture]) = architectures.as_deref() {
        function.architecture = (*architecture).to_owned();
    }
    if code {
        let settled = function.updated_at.unwrap_or_default();
        published_with(function, &body, &answer, settled);
    }
    if !code {
        if let Some(role) = body["Role"].as_str() {
            function.runs_as.role = role.to_owned();
        }
        if body.get("DeadLetterConfig").is_some() {
            function.runs_as.dead_letter = dead_letter(&body);
        }
    }
    let function = function.clone();
    front.save(&books).await;
    described(front, &function, answer)
}

async fn publish(front: &Front, call: Call, key: &str) -> Answer {
    let body = call.json();
    let (mut books, function) = match guarded(front, &call, &body, key).await {
        Ok(checked) => checked,
        Err(answer) => return answer,
    };
    if let Some(refusal) = code_sha256_moved(&function, body["CodeSha256"].as_str()) {
        return refused(&refusal, key);
    }
    let answer = front
        .forward(&without(&call, &["CodeSha256", "RevisionId"]))
        .await;
    if !answer.status.is_success() {
        return answer;
    }
    let version = answer.json()["Version"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let function = books.functions.get_mut(key).expect("read above");
    let latest = revision();
    function.revise(latest.clone(), latest);
    bgd_rules::lambda::publish(function, version, now_ms(), revision());
    let function = function.clone();
    front.save(&books).await;
    described(front, &function, answer)
}

impl Front {
    /// Whether the local registry still holds `image` (`HOST/REPO@sha256:…`), as Lambda finds
    /// out when it fetches it from ECR; an image it cannot ask about counts as held.
    async fn image_held(&self, image: &str) -> bool {
        let registry = self.registry_url.trim_end_matches('/');
        let Some((repository, digest)) = image
            .split_once('/')
            .and_then(|(_, rest)| rest.rsplit_once('@'))
        else {
            return true;
        };
        let head = self
            .http
            .head(format!("{registry}/v2/{repository}/manifests/{digest}"))
            .header("accept", super::MANIFEST_TYPES)
            .send()
            .await;
        !head.is_ok_and(|r| r.status() == StatusCode::NOT_FOUND)
    }

    /// The image an ImageUri naming a tag runs, as Lambda resolves a tag to the digest it then
    /// runs; `None` for a digest, or a host that is neither ECR's (whose repositories the local
    /// registry holds) nor the local registry's. A tag the registry does not hold is Lambda's
    /// refusal.
    async fn resolved(&self, image: &str) -> Result<Option<String>, Answer> {
        let registry = self.registry_url.trim_end_matches('/');
        let local = registry.split("://").last().unwrap_or(registry);
        let Some((host, (repository, tag))) = image
            .split_once('/')
            .filter(|(host, _)| *host == local || host.contains(".dkr.ecr."))
            .filter(|_| !image.contains('@'))
            .and_then(|(host, rest)| Some((host, rest.rsplit_once(':')?)))
        else {
            return Ok(None);
        };
        let head = self
            .http
            .head(format!("{registry}/v2/{repository}/manifests/{tag}"))
            .header("accept", super::MANIFEST_TYPES)
            .send()
            .await;
        let digest = head.ok().filter(|r| r.status().is_success()).and_then(|r| {
            let digest = r.headers().get("docker-content-digest")?;
            Some(digest.to_str().ok()?.to_owned())
        });
        match digest {
            Some(digest) => Ok(Some(format!("{host}/{repository}@{digest}"))),
            None => Err(invalid(&format!(
                "Source image {image} does not exist. Provide a valid source image."
            ))),
        }
    }
}

/// A write with `Publish=true` (CreateFunction, UpdateFunctionCode): moto published the version
/// its answer names; it is Pending until the write settles at `settled`.
fn published_with(function: &mut Function, body: &Value, answer: &Answer, settled: u64) {
    let version = answer.json()["Version"].as_str().map(str::to_owned);
    if let (Some(true), Some(version)) = (body["Publish"].as_bool(), version)
        && version != "$LATEST"
    {
        bgd_rules::lambda::publish(function, version, settled, revision());
    }
}

/// `POST /_local/invocations/REGION/FUNCTION/VERSION`: whether Lambda would run this version
/// now. An Inactive version's invocation fails and sets it Pending, as AWS documents.
pub(super) async fn invocation(
    State(front): State<Arc<Front>>,
    Path((region, name, version)): Path<(String, String, String)>,
) -> Answer {
    let mut books = front.books.lock().await;
    let delays = front.delays();
    let now = now_ms();
    let Some(published) = books
        .functions
        .get_mut(&format!("{region}/{name}"))
        .and_then(|f| f.versions.get_mut(&version))
    else {
        return refuse(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!("Function not found: {name}:{version}"),
        );
    };
    // Lambda fetches the image only to restore an idle version: no registry call otherwise.
    let image_held = published.status(now, &delays) != Status::Inactive
        || front.image_held(&published.image).await;
    let answer = match bgd_rules::lambda::invoke(published, now, &delays, image_held) {
        Status::Active => {
            return Answer {
                status: StatusCode::OK,
                headers: Default::default(),
                body: Bytes::from_static(b"{\"State\":\"Active\"}"),
            };
        }
        Status::Pending => conflict(Refusal::Pending.message(&name)),
        Status::Inactive => refuse(
            StatusCode::BAD_GATEWAY,
            "ResourceNotReadyException",
            "The function is inactive: Lambda is restoring its resources. Try again later.",
        ),
        Status::Failed => refuse(
            StatusCode::BAD_GATEWAY,
            "ResourceNotReadyException",
            "The function is failed: its image was deleted from ECR.",
        ),
    };
    front.save(&books).await;
    answer
}
