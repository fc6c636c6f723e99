//! The writes to a function: create, update (code or configuration) and publish, each checked
//! against Lambda's rules before moto writes, and its states kept in the front's books.
use serde_json::Value;
use tokio::sync::MutexGuard;

use super::{limits, without};
use crate::front::{
    Answer, Call, Front,
    describe::{described, invalid, refused},
    refuse,
    state::{Books, Function, now_ms, revision, role_key},
};
use axum::http::StatusCode;
use bgd_rules::{
    self,
    lambda::{RunsAs, busy_or_moved, code_sha256_moved, default_architecture},
};

/// CreateFunction: Lambda's name, limits and role propagation checked, the image resolved,
/// then moto's function kept Pending in the front's books.
pub(super) async fn create(front: &Front, call: Call) -> Answer {
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
    // `arn:aws:iam::ACCOUNT:role/NAME`: the role's own account's books.
    let role = body["Role"].as_str().unwrap_or_default();
    let role_account = role.split(':').nth(4).unwrap_or_default();
    let role_name = role.rsplit('/').next().unwrap_or_default();
    if books
        .roles
        .get(&role_key(role_account, role_name))
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
    books.functions.insert(call.scoped(name), function);
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

/// UpdateFunctionCode or UpdateFunctionConfiguration, guarded, leaving the function
/// InProgress.
pub(super) async fn update(front: &Front, call: Call, key: &str, code: bool) -> Answer {
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

/// PublishVersion, guarded by RevisionId and CodeSha256 (moto ignores both).
pub(super) async fn publish(front: &Front, call: Call, key: &str) -> Answer {
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

/// A request's dead-letter target; an empty TargetArn removes it, as on Lambda.
fn dead_letter(body: &Value) -> Option<String> {
    body["DeadLetterConfig"]["TargetArn"]
        .as_str()
        .filter(|arn| !arn.is_empty())
        .map(str::to_owned)
}

impl Front {
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
            .head_manifest(&self.image_path(host, repository), tag)
            .await;
        let digest = head.filter(|r| r.status().is_success()).and_then(|r| {
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
