//! The sample as it ships (its axum routes inside the deploy contract) fed API Gateway REST
//! (v1) proxy events from `tests/events/`, as Lambda would.
use app::{Greeting, router};
use bgd_contract::{ALIAS_HEADER, Contract, VERSION_HEADER, identity::BUILD};
use lambda_http::{
    Body, Context, Request, RequestExt, Response, request::from_str, tower::ServiceExt,
};
use serde_json::Value;

const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:bgd";

fn event(json: &str, qualifier: Option<&str>) -> Request {
    let mut context = Context::default();
    context.request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef".into();
    context.invoked_function_arn = match qualifier {
        Some(q) => format!("{FUNCTION_ARN}:{q}"),
        None => FUNCTION_ARN.into(),
    };
    from_str(json)
        .expect("fixture parses as an API Gateway event")
        .with_lambda_context(context)
}

/// The answer of version `version`, configured with `greeting`, as `main.rs` wires it.
async fn respond(version: &str, greeting: Option<&str>, request: Request) -> Response<Body> {
    let mut vars = vec![
        ("AWS_LAMBDA_FUNCTION_NAME".to_owned(), "bgd".to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION".to_owned(), version.to_owned()),
    ];
    if let Some(greeting) = greeting {
        vars.push(("GREETING".into(), greeting.into()));
    }
    let routes = router(Greeting::new(greeting.map(str::to_owned)));
    let app = Contract::with_vars(vars).layer(routes).await.unwrap();
    app.oneshot(request).await.unwrap()
}

fn body(response: &Response<Body>) -> Value {
    assert_eq!(response.headers()["content-type"], "application/json");
    serde_json::from_slice(response.body()).expect("JSON body")
}

const VERSION: &str = include_str!("events/version.json");

#[tokio::test]
async fn version_reports_the_alias_of_an_alias_qualified_arn() {
    let response = respond("7", Some("hi"), event(VERSION, Some("green"))).await;
    assert_eq!(response.status(), 200);
    let report = body(&response);
    assert_eq!(report["function"], "bgd");
    assert_eq!(report["version"], "7");
    assert_eq!(report["alias"], "green");
    assert_eq!(report["stage"], "green");
    assert_eq!(report["build"]["git_sha"], BUILD.git_sha);
    assert_eq!(report["build"]["dirty"], BUILD.dirty);
    assert_eq!(report["build"]["built_at"], BUILD.built_at);
    assert_eq!(report["build"]["arch"], std::env::consts::ARCH);
}

#[tokio::test]
async fn version_reports_no_alias_when_invoked_by_number_unqualified_or_latest() {
    for (version, qualifier) in [
        ("7", Some("7")),
        ("$LATEST", None),
        ("$LATEST", Some("$LATEST")),
    ] {
        let response = respond(version, Some("hi"), event(VERSION, qualifier)).await;
        let report = body(&response);
        assert_eq!(report["alias"], Value::Null, "qualifier {qualifier:?}");
        assert_eq!(report["version"], version);
        assert_eq!(response.headers()[ALIAS_HEADER], "none");
    }
}

#[test]
fn build_facts_come_from_the_commit_not_the_clock() {
    assert!(
        BUILD.git_sha.len() == 40 || BUILD.git_sha == "unknown",
        "git sha {:?}",
        BUILD.git_sha
    );
    assert!(BUILD.built_at.ends_with('Z') && BUILD.built_at.len() == 20);
}

#[tokio::test]
async fn every_response_carries_version_and_alias_headers() {
    for fixture in [
        VERSION,
        include_str!("events/health.json"),
        include_str!("events/unknown-route.json"),
        include_str!("events/blue-without-token.json"),
        include_str!("events/greet-malformed-body.json"),
    ] {
        let response = respond("12", Some("hi"), event(fixture, Some("blue"))).await;
        assert_eq!(response.headers()[VERSION_HEADER], "12");
        assert_eq!(response.headers()[ALIAS_HEADER], "blue");
    }
}

#[tokio::test]
async fn health_is_ok_when_required_env_is_set() {
    let response = respond(
        "1",
        Some("hi"),
        event(include_str!("events/health.json"), None),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(&response)["status"], "ok");
}

#[tokio::test]
async fn health_names_missing_env_without_values() {
    let response = respond("1", None, event(include_str!("events/health.json"), None)).await;
    assert_eq!(response.status(), 503);
    assert_eq!(
        body(&response)["missing_env"],
        serde_json::json!(["GREETING"])
    );

    let response = respond(
        "1",
        Some(""),
        event(include_str!("events/health.json"), None),
    )
    .await;
    assert_eq!(response.status(), 503, "an empty value counts as missing");
}

#[tokio::test]
async fn root_serves_the_greeting() {
    let response = respond(
        "1",
        Some("hello from test"),
        event(include_str!("events/root.json"), None),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(&response)["message"], "hello from test");
}

#[tokio::test]
async fn greet_answers_a_json_body() {
    let response = respond(
        "1",
        Some("hi"),
        event(include_str!("events/greet.json"), None),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(&response)["message"], "hi, Ada");
}

// Before: axum's `Json` answered 400 to a body without `content-type: application/json`,
// which the sample had always taken (the local cloud's routing test posts it bare).
#[tokio::test]
async fn greet_takes_json_whatever_its_content_type_says() {
    let text_plain = include_str!("events/greet.json").replace("application/json", "text/plain");
    let response = respond("1", Some("hi"), event(&text_plain, None)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(&response)["message"], "hi, Ada");
}

#[tokio::test]
async fn malformed_body_is_a_400() {
    let response = respond(
        "1",
        Some("hi"),
        event(include_str!("events/greet-malformed-body.json"), None),
    )
    .await;
    assert_eq!(response.status(), 400);
    assert!(body(&response)["error"].as_str().unwrap().contains("JSON"));
}

#[tokio::test]
async fn unknown_route_is_a_json_404() {
    let response = respond(
        "1",
        Some("hi"),
        event(include_str!("events/unknown-route.json"), None),
    )
    .await;
    assert_eq!(response.status(), 404);
    assert_eq!(body(&response)["path"], "/no/such/route");
    // AWS's own example event posts to /hello/world, which this app does not serve.
    let response = respond(
        "1",
        Some("hi"),
        event(include_str!("events/example-apigw-request.json"), None),
    )
    .await;
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn wrong_method_is_a_json_405() {
    let response = respond(
        "1",
        Some("hi"),
        event(include_str!("events/wrong-method.json"), None),
    )
    .await;
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, HEAD");
    assert_eq!(body(&response)["error"], "method not allowed");

    // The sample's own route, answered by axum's method fallback as typed JSON.
    let get_greet = include_str!("events/greet.json").replace("\"POST\"", "\"GET\"");
    let response = respond("1", Some("hi"), event(&get_greet, None)).await;
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    assert_eq!(body(&response)["error"], "method not allowed");
    assert_eq!(response.headers()[VERSION_HEADER], "1");
}

#[tokio::test]
async fn blue_serves_only_requests_with_the_matching_token() {
    let with = respond(
        "3",
        Some("hi"),
        event(include_str!("events/blue-with-token.json"), Some("blue")),
    )
    .await;
    assert_eq!(with.status(), 200);
    assert_eq!(body(&with)["stage"], "blue");
    for fixture in [
        include_str!("events/blue-without-token.json"),
        include_str!("events/blue-wrong-token.json"),
    ] {
        let response = respond("3", Some("hi"), event(fixture, Some("blue"))).await;
        assert_eq!(response.status(), 403);
        let text = String::from_utf8_lossy(response.body()).into_owned();
        assert!(
            !text.contains("0123456789abcdef"),
            "the token never appears in answers"
        );
    }
}

#[tokio::test]
async fn green_without_verify_token_needs_no_header() {
    let response = respond("3", Some("hi"), event(VERSION, Some("green"))).await;
    assert_eq!(response.status(), 200);
}
