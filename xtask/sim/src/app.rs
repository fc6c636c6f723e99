//! The data plane and the simulated app: a request to a stage URL goes as API Gateway and
//! Lambda would route it (stage served yet? its alias variable, the alias's target as this node
//! sees it, the version's state under `bgd_rules::lambda::invoke`), then the app of that image answers
//! as the real one does (`app/src/lib.rs`: the token guards every route on blue, every answer
//! names its version in `x-app-version`). Here the oracle also learns what blue verified.
use rand::Rng;

use super::{oracle::BlueCheck, world::World};
use bgd_core::{
    facts::BuildFacts,
    pipeline::{ALIAS_VARIABLE, TOKEN_VARIABLE},
    probe::{Answer, ReportedBuild, Request, SelfReport, VERIFY_TOKEN_HEADER},
};

/// How an image's app behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Behaviour {
    Healthy,
    /// `/health` answers 503: verification must stop it.
    BrokenHealth,
    /// Healthy checks, but about one `GET /` in three fails: broken only under some traffic.
    Flaky,
    /// Passes every check, but its function crashes on about two in five of the users' own
    /// requests (a Lambda function error): only real traffic, or the alarm, can tell.
    Crashing,
}

/// The share of users' requests to `version` that fail as Lambda counts them now: all when no
/// Active version runs them, two in five on the build that crashes, else none (an HTTP error
/// the app answers itself is no function error).
pub(super) fn user_failure_rate(world: &World, version: &str) -> f64 {
    let now = world.now();
    let active = world
        .lambda
        .function
        .as_ref()
        .and_then(|(f, _)| f.versions.get(version))
        .is_some_and(|p| p.status(now, &world.delays) == bgd_rules::lambda::Status::Active);
    let crashing = world
        .image_of(version)
        .and_then(|digest| world.apps.get(&digest))
        .is_some_and(|app| app.behaviour == Behaviour::Crashing);
    match (active, crashing) {
        (false, _) => 1.0,
        (true, true) => 0.4,
        (true, false) => 0.0,
    }
}

#[derive(Debug, Clone)]
pub(crate) struct App {
    pub facts: BuildFacts,
    pub behaviour: Behaviour,
}

fn gateway_answer(status: u16, message: &str) -> Answer {
    Answer {
        status,
        body: format!("{{\"message\":\"{message}\"}}"),
        app_version: None,
    }
}

/// Answers `request` as the data plane and app would now.
pub(super) fn answer(world: &mut World, request: &Request) -> Result<Answer, String> {
    Ok(match route(world, request)? {
        Ok(invoked) => app_answer(world, request, &invoked),
        Err(refused) => refused,
    })
}

/// A request the data plane handed to a version's app.
struct Invoked<'a> {
    stage: &'a str,
    alias: String,
    version: String,
    digest: String,
    /// The stage's verify token, if it has one (blue).
    token: Option<String>,
    app: App,
    path: &'a str,
}

/// API Gateway and Lambda's part: the stage served yet, its alias variable, the version that
/// alias routes to as this node sees it and its state (an idle one restored from its image),
/// then the app of that image; or the gateway's own answer where one of them fails.
fn route<'a>(
    world: &mut World,
    request: &'a Request,
) -> Result<Result<Invoked<'a>, Answer>, String> {
    let Some(rest) = request
        .url
        .strip_prefix(super::world::GATEWAY)
        .and_then(|r| r.strip_prefix("/restapis/"))
    else {
        return Err(format!("no route to {}", request.url));
    };
    let mut parts = rest.splitn(3, '/');
    let (api, stage, tail) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let path = tail.strip_prefix("_user_request_").unwrap_or(tail);
    let path = if path.is_empty() { "/" } else { path };
    let now = world.now();
    let served = world.gateway.api.as_ref().is_some_and(|(id, _)| id == api);
    // The two variables the data plane reads, not the whole stage, cloned per request.
    let Some(variables) = world
        .gateway
        .stages
        .get(stage)
        .filter(|s| served && now >= s.served_at)
        .map(|s| &s.stage.variables)
    else {
        return Ok(Err(gateway_answer(403, "Forbidden")));
    };
    let token = variables.get(TOKEN_VARIABLE).cloned();
    let Some(alias) = variables.get(ALIAS_VARIABLE).cloned() else {
        return Ok(Err(gateway_answer(500, "Internal server error")));
    };
    let failed = || Ok(Err(gateway_answer(502, "Internal server error")));
    let Some(version) = world.routed(&alias) else {
        return failed();
    };
    let delays = world.delays;
    // What Lambda fetches from ECR when it restores an idle version.
    let digest = world.image_of(&version).unwrap_or_default();
    let image_held = world.images.manifests.contains(&digest);
    let Some(published) = world
        .lambda
        .function
        .as_mut()
        .and_then(|(f, _)| f.versions.get_mut(&version))
    else {
        return failed();
    };
    if bgd_rules::lambda::invoke(published, now, &delays, image_held)
        != bgd_rules::lambda::Status::Active
    {
        return failed();
    }
    let Some(app) = world.apps.get(&digest).cloned() else {
        return failed();
    };
    Ok(Ok(Invoked {
        stage,
        alias,
        version,
        digest,
        token,
        app,
        path,
    }))
}

/// The app's part (`app/src/lib.rs`): the token guards every route on blue, then each route
/// answers by the build's behaviour; every invocation is in Lambda's metrics, and the oracle
/// learns what blue's answers verified.
fn app_answer(world: &mut World, request: &Request, invoked: &Invoked<'_>) -> Answer {
    let version = invoked.version.as_str();
    let answer = |status: u16, body: String| Answer {
        status,
        body,
        app_version: Some(version.to_owned()),
    };
    let on_blue = invoked.stage == bgd_core::pipeline::BLUE;
    let checked = (invoked.digest.as_str(), version);
    // The app's own answers are no function errors.
    let second = world.epoch_s();
    world
        .traffic
        .record_at(second, &invoked.alias, version, false);
    let with_token = invoked
        .token
        .as_ref()
        .is_some_and(|t| request.header(VERIFY_TOKEN_HEADER) == Some(t));
    if invoked.token.is_some() && !with_token {
        world
            .oracle
            .blue_check(checked, on_blue, BlueCheck::Refused);
        return answer(403, "{\"error\":\"forbidden\"}".into());
    }
    match (request.method.as_str(), invoked.path) {
        ("GET", "/version") => {
            let report = SelfReport {
                function: Some(super::FUNCTION.into()),
                version: Some(version.to_owned()),
                alias: Some(invoked.alias.clone()),
                stage: Some(invoked.stage.into()),
                build: ReportedBuild {
                    git_sha: invoked.app.facts.git_sha.clone(),
                    dirty: invoked.app.facts.dirty,
                    built_at: invoked.app.facts.built_at.clone(),
                    id: invoked.app.facts.build_id.clone(),
                    arch: None,
                },
            };
            world
                .oracle
                .blue_check(checked, on_blue, BlueCheck::Reported);
            answer(
                200,
                serde_json::to_string(&report).expect("a report serialises"),
            )
        }
        ("GET", "/health") if invoked.app.behaviour == Behaviour::BrokenHealth => {
            answer(503, "{\"missing\":[\"GREETING\"]}".into())
        }
        ("GET", "/health") => {
            world
                .oracle
                .blue_check(checked, on_blue, BlueCheck::Healthy);
            answer(200, "{\"ok\":true}".into())
        }
        ("GET", "/")
            if invoked.app.behaviour == Behaviour::Flaky && world.rng.random_bool(0.35) =>
        {
            answer(500, "{\"error\":\"flaky\"}".into())
        }
        ("GET", "/") => {
            world.oracle.blue_check(checked, on_blue, BlueCheck::Smoke);
            answer(200, "hello from sim".into())
        }
        _ => answer(404, "{\"error\":\"not found\"}".into()),
    }
}
