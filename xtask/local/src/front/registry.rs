//! ECR's registries, one per account and region, in the one local registry. On AWS the
//! registry host names the account and region (`ACCOUNT.dkr.ecr.REGION.amazonaws.com`), so two
//! accounts' (or regions') repositories of one name hold different images. A registry per
//! account and region would take a process, a port or a DNS name each (`*.localhost` does not
//! resolve everywhere); so the one registry keeps each account's and region's repositories
//! under a path namespace, `ACCOUNT/REGION/NAME`, and the front serves the registry API itself:
//! GetAuthorizationToken names the front (`proxyEndpoint`) and a token that says whose it is,
//! as ECR's does, and the front forwards each call to the caller's namespace. The pipeline
//! pushes where ECR says, unchanged; the repositoryUri keeps ECR's form, whose host names the
//! account and region, so the front and the data plane find an image's namespace from its
//! URI. The default account's repositories in deploy.toml's region keep their plain names (what
//! `LOCAL_REGISTRY_URL/v2/NAME` and the tests read).
use axum::{
    body::Bytes,
    http::{HeaderMap, HeaderValue, StatusCode, request::Parts},
};
use base64::Engine;
use serde_json::json;

use super::{Answer, Call, Front};
use crate::endpoints::DEFAULT_ACCOUNT;

/// What every token starts with; the account and region follow.
const TOKEN: &str = "local-registry-token-7f3c9a";

/// A call to the registry API (`/v2/…`) rather than to an AWS service (those are SigV4-signed;
/// API Gateway v2's `/v2/apis` too).
pub(super) fn is_registry_call(parts: &Parts) -> bool {
    let path = parts.uri.path();
    let signed = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|auth| auth.starts_with("AWS4-"));
    (path == "/v2" || path.starts_with("/v2/")) && !signed
}

impl Front {
    /// Where `account`'s repository `name` of `region` lives in the local registry.
    pub(super) fn registry_path(&self, account: &str, region: &str, name: &str) -> String {
        if account == DEFAULT_ACCOUNT && region == self.region {
            name.to_owned()
        } else {
            format!("{account}/{region}/{name}")
        }
    }

    /// Where the repository of an image (`HOST/REPOSITORY`, as Lambda is told of it) lives in
    /// the local registry: ECR's host names its account and region; the local registry's own
    /// host, the plain name.
    pub(super) fn image_path(&self, host: &str, repository: &str) -> String {
        let ecr = host
            .split_once(".dkr.ecr.")
            .and_then(|(account, rest)| Some((account, rest.split_once('.')?.0)));
        match ecr {
            Some((account, region)) => self.registry_path(account, region, repository),
            None => repository.to_owned(),
        }
    }

    /// ECR's GetAuthorizationToken names the registry the caller's repositories live in: the
    /// front's registry API (plain HTTP on loopback), with a token that says whose they are.
    /// The password is a token's kind of string, as ECR's is: the deploy redacts it from all
    /// output, and "local" redacted every word "local" (adversarial-3 m5).
    pub(super) fn registry_token(&self, call: &Call) -> Answer {
        let password = format!("{TOKEN}.{}.{}", call.account, call.region);
        let token = base64::engine::general_purpose::STANDARD.encode(format!("AWS:{password}"));
        let expires = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() + 12 * 3600);
        super::ecr::ecr_answer(&json!({"authorizationData": [{
            "authorizationToken": token,
            "expiresAt": expires,
            "proxyEndpoint": self.url,
        }]}))
    }

    /// A registry API call, forwarded to the namespace of the account and region its token
    /// names; without a token, 401 with a Basic challenge, as ECR answers (so clients send the
    /// token, as they do to ECR).
    pub(super) async fn registry(&self, parts: &Parts, body: Bytes) -> Answer {
        let Some((account, region)) = token_scope(&parts.headers) else {
            return unauthorized();
        };
        let target = parts.uri.path_and_query().map_or("/v2/", |p| p.as_str());
        let forwarded = match target.strip_prefix("/v2/").filter(|rest| !rest.is_empty()) {
            Some(rest) => format!("/v2/{}", self.registry_path(&account, &region, rest)),
            None => "/v2/".to_owned(),
        };
        let registry = self.registry_url.trim_end_matches('/');
        let mut request = self
            .http
            .request(parts.method.clone(), format!("{registry}{forwarded}"))
            .body(body);
        for (name, value) in &parts.headers {
            if !matches!(name.as_str(), "host" | "content-length" | "authorization") {
                request = request.header(name, value);
            }
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                let mut answer = unauthorized();
                answer.status = StatusCode::BAD_GATEWAY;
                answer.body = Bytes::from(format!("the local registry: {e}"));
                return answer;
            }
        };
        // The registry's Content-Length stays: a HEAD of a manifest answers its size.
        Answer::relayed(response, &[]).await
    }
}

/// The account and region a registry token (HTTP Basic, `AWS:PASSWORD`) was issued for.
fn token_scope(headers: &HeaderMap) -> Option<(String, String)> {
    let basic = headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(basic.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let scope = decoded.strip_prefix(&format!("AWS:{TOKEN}."))?;
    let (account, region) = scope.split_once('.')?;
    Some((account.to_owned(), region.to_owned()))
}

fn unauthorized() -> Answer {
    let mut headers = HeaderMap::new();
    headers.insert(
        "www-authenticate",
        HeaderValue::from_static("Basic realm=\"local-ecr\""),
    );
    Answer {
        status: StatusCode::UNAUTHORIZED,
        headers,
        body: Bytes::new(),
    }
}
