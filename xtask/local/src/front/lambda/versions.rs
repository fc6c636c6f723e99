//! A function's versions as Lambda keeps them: listed without their state, deleted by Lambda's
//! rule (never one an alias routes to, never a number reused), and invoked by their state (an
//! idle one restored, or failed when its image is gone).
use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{Method, StatusCode},
};

use super::{FUNCTIONS, no_content, without};
use crate::front::{
    Answer, Call, Front,
    describe::{conflict, describe, invalid},
    refuse,
    state::{Status, now_ms},
};
use bgd_rules::lambda::{Deletion, Refusal};

/// ListVersionsByFunction: moto's list less the versions the front deleted, each described as
/// Lambda lists it.
pub(super) async fn list(front: &Front, call: &Call, key: &str) -> Answer {
    let answer = front.forward(call).await;
    let books = front.books.lock().await;
    let Some(function) = books.functions.get(key) else {
        return answer;
    };
    let mut body = answer.json();
    if let Some(versions) = body["Versions"].as_array_mut() {
        // moto keeps what the front deleted (so it never numbers a version again).
        versions.retain(|config| {
            let version = config["Version"].as_str().unwrap_or_default();
            version == "$LATEST" || function.versions.contains_key(version)
        });
        for config in versions {
            describe(config, function, front);
            // A listed configuration has no state (recorded: LocalStack's
            // test_lambda_image_versions list_versions_result; API_ListFunctions).
            if let Some(config) = config.as_object_mut() {
                for field in bgd_rules::lambda::LISTED_WITHOUT {
                    config.remove(*field);
                }
            }
        }
    }
    answer.with_json(&body)
}

/// DeleteFunction of one version, as Lambda rules it ([`bgd_rules::lambda::delete_version`]):
/// moto, which deletes any version and then numbers the next one `len + 1` (reusing a deleted
/// number), is not asked; the version leaves only the front's books, and every read of it
/// answers as for a version that does not exist.
pub(super) async fn delete(
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

impl Front {
    /// Whether the local registry still holds `image` (`HOST/REPO@sha256:…`), as Lambda finds
    /// out when it fetches it from ECR; an image it cannot ask about counts as held.
    async fn image_held(&self, image: &str) -> bool {
        let Some((host, (repository, digest))) = image
            .split_once('/')
            .and_then(|(host, rest)| Some((host, rest.rsplit_once('@')?)))
        else {
            return true;
        };
        let head = self
            .head_manifest(&self.image_path(host, repository), digest)
            .await;
        head.is_none_or(|r| r.status() != StatusCode::NOT_FOUND)
    }
}

/// `POST /_local/invocations/ACCOUNT/REGION/FUNCTION/VERSION`: whether Lambda would run this
/// version now. An Inactive version's invocation fails and sets it Pending, as AWS documents.
pub(in crate::front) async fn invocation(
    State(front): State<Arc<Front>>,
    Path((account, region, name, version)): Path<(String, String, String, String)>,
) -> Answer {
    let mut books = front.books.lock().await;
    let delays = front.delays();
    let now = now_ms();
    let Some(published) = books
        .functions
        .get_mut(&format!("{account}/{region}/{name}"))
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
