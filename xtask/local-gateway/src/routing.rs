//! Which API, stage and resource a request names, as execute-api decides it: pure functions,
//! unit-tested, so the gateway's 403s are predictable.
use std::collections::BTreeMap;

use crate::control::{Route, Scope};

/// The prefix of a request for an API of an account and region named in the path
/// (`/.aws/{account}/{region}/…`, then either form below); not a valid stage name, so it
/// never shadows one. Without it a request is for the gateway's default account and region.
pub const SCOPE_PREFIX: &str = "/.aws";

/// The gateway's URL for the APIs of `account` in `region`: below it `/{stage}/{path}` (the API
/// deploy.toml names) and `/restapis/{id}/{stage}/_user_request_/{path}` answer as at the root.
pub fn scoped_url(gateway_url: &str, account: &str, region: &str) -> String {
    format!(
        "{}{SCOPE_PREFIX}/{account}/{region}",
        gateway_url.trim_end_matches('/')
    )
}

/// The REST API a request is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ApiRef {
    /// `/{stage}/{path}`: the API deploy.toml names.
    Default,
    /// `/restapis/{id}/{stage}/_user_request_/{path}`, the form moto and LocalStack use.
    Id(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// The account and region the path names; `None`: the gateway's default ones.
    pub scope: Option<Scope>,
    pub api: ApiRef,
    pub stage: String,
    /// The path below the stage, starting with `/`.
    pub path: String,
}

/// Splits a request path into account and region, API, stage and the path the function sees.
pub(crate) fn target(path: &str) -> Option<Target> {
    let Some(scoped) = path.strip_prefix(SCOPE_PREFIX) else {
        return unscoped(path);
    };
    let mut parts = scoped.strip_prefix('/')?.splitn(3, '/');
    let (account, region) = (parts.next()?, parts.next()?);
    let valid = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    let valid = valid
        && !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let scope = Scope {
        account: account.to_owned(),
        region: region.to_owned(),
    };
    let target = unscoped(&format!("/{}", parts.next().unwrap_or_default()))?;
    valid.then_some(Target {
        scope: Some(scope),
        ..target
    })
}

fn unscoped(path: &str) -> Option<Target> {
    let rest = path.strip_prefix('/')?;
    if let Some(rest) = rest.strip_prefix("restapis/") {
        let (id, rest) = rest.split_once('/')?;
        let (stage, rest) = rest.split_once('/')?;
        let rest = rest.strip_prefix("_user_request_")?;
        return (!id.is_empty())
            .then(|| Target {
                scope: None,
                api: ApiRef::Id(id.to_owned()),
                stage: stage.to_owned(),
                path: below_stage(rest),
            })
            .filter(|t| valid_stage(&t.stage));
    }
    let (stage, rest) = rest.split_once('/').unwrap_or((rest, ""));
    valid_stage(stage).then(|| Target {
        scope: None,
        api: ApiRef::Default,
        stage: stage.to_owned(),
        path: below_stage(rest),
    })
}

fn below_stage(rest: &str) -> String {
    if rest.starts_with('/') {
        rest.to_owned()
    } else {
        format!("/{rest}")
    }
}

/// Stage names are alphanumerics, `-` and `_`
/// (<https://docs.aws.amazon.com/apigateway/latest/api/API_CreateStage.html>).
fn valid_stage(stage: &str) -> bool {
    !stage.is_empty()
        && stage
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The route a request matched, with the integration to call.
#[derive(Debug, Clone)]
pub(crate) struct Matched<'a> {
    /// The resource path, e.g. `/{proxy+}` (the event's `resource`).
    pub resource: &'a str,
    /// The function ARN the method's integration invokes, or why there is none.
    pub invoked: &'a Result<String, String>,
    pub path_parameters: BTreeMap<String, String>,
}

/// The resource and method for `method path`, preferring literal segments over `{param}` over
/// a greedy `{proxy+}`, and an exact method over `ANY`, as API Gateway does.
pub(crate) fn matched<'a>(routes: &'a [Route], method: &str, path: &str) -> Option<Matched<'a>> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    routes
        .iter()
        .filter_map(|route| {
            let (score, path_parameters) = score(&route.path, &segments)?;
            let invoked = route
                .methods
                .get(method)
                .or_else(|| route.methods.get("ANY"))?;
            Some((
                score,
                Matched {
                    resource: &route.path,
                    invoked,
                    path_parameters,
                },
            ))
        })
        .max_by(|(a, _), (b, _)| a.cmp(b))
        .map(|(_, m)| m)
}

/// How specifically `resource` matches `segments` (higher is better), and its parameters.
fn score(resource: &str, segments: &[&str]) -> Option<(Vec<u8>, BTreeMap<String, String>)> {
    let parts: Vec<&str> = resource.split('/').filter(|s| !s.is_empty()).collect();
    let mut params = BTreeMap::new();
    let mut score = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix("+}")) {
            // Greedy: needs at least one segment, takes the rest.
            if i >= segments.len() || i + 1 != parts.len() {
                return None;
            }
            params.insert(name.to_owned(), segments[i..].join("/"));
            score.push(0);
            return Some((score, params));
        }
        let segment = segments.get(i)?;
        if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            params.insert(name.to_owned(), (*segment).to_owned());
            score.push(1);
        } else if part == segment {
            score.push(2);
        } else {
            return None;
        }
    }
    (parts.len() == segments.len()).then_some((score, params))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::{ApiRef, matched, target};
    use crate::control::Route;

    #[test]
    fn the_first_segment_is_the_stage_and_the_rest_is_the_functions_path() {
        let t = target("/green/version").unwrap();
        assert_eq!(
            (t.api, t.stage.as_str(), t.path.as_str()),
            (ApiRef::Default, "green", "/version")
        );
        assert_eq!(target("/green").unwrap().path, "/");
        assert_eq!(target("/green/").unwrap().path, "/");
        assert_eq!(target("/a/b/c").unwrap().path, "/b/c");
        assert!(target("/").is_none());
        assert!(target("/.local/health").is_none());
    }

    #[test]
    fn restapis_paths_name_the_api_by_id() {
        let t = target("/restapis/abc123/blue/_user_request_/items/7").unwrap();
        assert_eq!(t.api, ApiRef::Id("abc123".into()));
        assert_eq!((t.stage.as_str(), t.path.as_str()), ("blue", "/items/7"));
        assert_eq!(
            target("/restapis/abc123/blue/_user_request_").unwrap().path,
            "/"
        );
        assert!(target("/restapis/abc123/blue/other/x").is_none());
    }

    #[test]
    fn a_scoped_path_names_the_account_and_region_then_either_form() {
        let base = super::scoped_url("http://127.0.0.1:9/", "111111111111", "eu-west-1");
        assert_eq!(base, "http://127.0.0.1:9/.aws/111111111111/eu-west-1");
        let t = target("/.aws/111111111111/eu-west-1/restapis/abc/green/_user_request_/v").unwrap();
        let scope = t.scope.unwrap();
        assert_eq!(
            (scope.account.as_str(), scope.region.as_str()),
            ("111111111111", "eu-west-1")
        );
        assert_eq!(
            (t.api, t.stage.as_str(), t.path.as_str()),
            (ApiRef::Id("abc".into()), "green", "/v")
        );
        let t = target("/.aws/222222222222/us-east-1/green/version").unwrap();
        assert_eq!((t.api, t.path.as_str()), (ApiRef::Default, "/version"));
        assert_eq!(target("/green/version").unwrap().scope, None);
        assert!(target("/.aws/local/us-east-1/green/").is_none());
        assert!(target("/.aws/111111111111/EU/green/").is_none());
        assert!(target("/.aws/111111111111/eu-west-1").is_none());
    }

    fn route(path: &str, method: &str, uri: &str) -> Route {
        Route {
            path: path.into(),
            methods: BTreeMap::from([(method.to_owned(), Ok(uri.to_owned()))]),
        }
    }

    #[test]
    fn root_and_greedy_proxy_split_every_path_between_them() {
        let routes = [
            route("/", "ANY", "root"),
            route("/{proxy+}", "ANY", "proxy"),
        ];
        let m = matched(&routes, "GET", "/").unwrap();
        assert_eq!(m.invoked.as_deref(), Ok("root"));
        let m = matched(&routes, "POST", "/a/b").unwrap();
        assert_eq!(
            (m.resource, m.invoked.as_deref()),
            ("/{proxy+}", Ok("proxy"))
        );
        assert_eq!(m.path_parameters["proxy"], "a/b");
    }

    #[test]
    fn literal_beats_parameter_beats_proxy_and_a_missing_route_matches_nothing() {
        let routes = [
            route("/items/{id}", "GET", "param"),
            route("/items/new", "GET", "literal"),
            route("/{proxy+}", "GET", "proxy"),
        ];
        assert_eq!(
            matched(&routes, "GET", "/items/new")
                .unwrap()
                .invoked
                .as_deref(),
            Ok("literal")
        );
        assert_eq!(
            matched(&routes, "GET", "/items/9")
                .unwrap()
                .invoked
                .as_deref(),
            Ok("param")
        );
        assert_eq!(
            matched(&routes, "GET", "/other")
                .unwrap()
                .invoked
                .as_deref(),
            Ok("proxy")
        );
        assert!(matched(&routes, "DELETE", "/items/9").is_none());
        assert!(matched(&routes[..2], "GET", "/").is_none());
    }
}
