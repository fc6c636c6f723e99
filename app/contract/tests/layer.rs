//! The contract alone, around a plain `service_fn` that counts its calls: API Gateway REST
//! (v1) proxy events as Lambda delivers them, every path and method of the contract, the
//! blue stage's token, and the service's own answers and errors.
use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use bgd_contract::{ALIAS_HEADER, Clash, Contract, VERSION_HEADER, identity::BUILD};
use lambda_http::{
    Body, Context, Error, Request, RequestExt, Response, http::StatusCode, request::from_str,
    service_fn, tower::ServiceExt,
};
use serde_json::{Value, json};

const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:bgd";
const TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// A REST proxy event for `method path` on `stage`; on blue the stage carries the token.
struct Event<'a> {
    method: &'a str,
    path: &'a str,
    stage: &'a str,
    token: Option<&'a str>,
}

impl<'a> Event<'a> {
    fn get(path: &'a str) -> Self {
        Self {
            method: "GET",
            path,
            stage: "green",
            token: None,
        }
    }

    fn on_blue(self, token: Option<&'a str>) -> Self {
        Self {
            stage: "blue",
            token,
            ..self
        }
    }

    fn method(self, method: &'a str) -> Self {
        Self { method, ..self }
    }

    fn request(&self) -> Request {
        let headers = match self.token {
            Some(token) => json!({"x-verify-token": token}),
            None => json!({}),
        };
        let multi = match self.token {
            Some(token) => json!({"x-verify-token": [token]}),
            None => json!({}),
        };
        let stage_variables = match self.stage {
            "blue" => json!({"alias": "blue", "verify_token": TOKEN}),
            stage => json!({"alias": stage}),
        };
        let event = json!({
            "resource": "/{proxy+}", "path": self.path, "httpMethod": self.method,
            "headers": headers, "multiValueHeaders": multi,
            "queryStringParameters": {"q": "1"}, "multiValueQueryStringParameters": {"q": ["1"]},
            "stageVariables": stage_variables,
            "requestContext": {"stage": self.stage, "requestId": "r", "accountId": "123456789012",
                               "resourcePath": "/{proxy+}", "httpMethod": self.method,
                               "path": format!("/{}{}", self.stage, self.path)},
            "body": null, "isBase64Encoded": false,
        });
        let mut context = Context::default();
        context.invoked_function_arn = format!("{FUNCTION_ARN}:{}", self.stage);
        from_str(&event.to_string())
            .expect("an API Gateway REST event")
            .with_lambda_context(context)
    }
}

/// The user's service: `/` and `/echo` (the path and query it was given) answer 200,
/// `/boom` a 500 of its own, `/fail` an `Err`, anything else 404.
async fn user(request: Request) -> Result<Response<Body>, Error> {
    let (status, body) = match request.uri().path() {
        "/" => (StatusCode::OK, "user root".to_owned()),
        "/echo" => (
            StatusCode::OK,
            request.uri().path_and_query().unwrap().to_string(),
        ),
        "/boom" => (StatusCode::INTERNAL_SERVER_ERROR, "user 500".to_owned()),
        "/fail" => return Err(Error::from("the user's error")),
        _ => (StatusCode::NOT_FOUND, "user 404".to_owned()),
    };
    Ok(Response::builder().status(status).body(Body::from(body))?)
}

fn contract() -> Contract {
    Contract::with_vars([
        ("AWS_LAMBDA_FUNCTION_NAME".to_owned(), "bgd".to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION".to_owned(), "7".to_owned()),
        ("GREETING".to_owned(), "hi".to_owned()),
    ])
}

/// What the layer answers to `event`, and how many requests reached the user's service.
async fn answer(contract: Contract, event: Event<'_>) -> (Result<Response<Body>, Error>, usize) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let service = service_fn(move |request: Request| {
        counted.fetch_add(1, Ordering::SeqCst);
        user(request)
    });
    let guarded = contract.layer(service).await.expect("no clash");
    let before = calls.load(Ordering::SeqCst);
    let response = guarded.oneshot(event.request()).await;
    (response, calls.load(Ordering::SeqCst) - before)
}

async fn response(event: Event<'_>) -> Response<Body> {
    answer(contract(), event).await.0.expect("a response")
}

fn json_body(response: &Response<Body>) -> Value {
    assert_eq!(response.headers()["content-type"], "application/json");
    serde_json::from_slice(response.body()).expect("JSON body")
}

fn text(response: &Response<Body>) -> String {
    String::from_utf8_lossy(response.body()).into_owned()
}

#[tokio::test]
async fn blue_refuses_a_missing_or_wrong_token_before_the_service_sees_the_request() {
    for path in ["/", "/version", "/health", "/boom", "/no/such/route"] {
        for token in [None, Some("ffffffffffffffffffffffffffffffff"), Some("0123")] {
            let (response, calls) = answer(contract(), Event::get(path).on_blue(token)).await;
            let response = response.unwrap();
            assert_eq!(response.status(), 403, "{path} with {token:?}");
            assert_eq!(calls, 0, "the service never sees a refused request");
            assert_eq!(response.headers()[VERSION_HEADER], "7");
            assert_eq!(response.headers()[ALIAS_HEADER], "blue");
            assert!(!text(&response).contains(TOKEN), "the token never appears");
        }
    }
}

#[tokio::test]
async fn blue_with_the_right_token_serves_every_route_and_method() {
    let cases = [
        ("GET", "/", 200),
        ("GET", "/version", 200),
        ("GET", "/health", 200),
        ("HEAD", "/version", 200),
        ("POST", "/version", 405),
        ("GET", "/boom", 500),
        ("DELETE", "/no/such/route", 404),
    ];
    for (method, path, status) in cases {
        let event = Event::get(path).method(method).on_blue(Some(TOKEN));
        let response = response(event).await;
        assert_eq!(response.status(), status, "{method} {path}");
        assert_eq!(response.headers()[ALIAS_HEADER], "blue");
    }
}

#[tokio::test]
async fn green_without_verify_token_needs_no_header() {
    let response = response(Event::get("/version")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(json_body(&response)["alias"], "green");
}

#[tokio::test]
async fn version_reports_function_version_alias_stage_and_the_baked_build() {
    let (response, calls) = answer(contract(), Event::get("/version/").on_blue(Some(TOKEN))).await;
    let report = json_body(&response.unwrap());
    assert_eq!(calls, 0, "the contract answers its own paths");
    assert_eq!(report["function"], "bgd");
    assert_eq!(report["version"], "7");
    assert_eq!(report["alias"], "blue");
    assert_eq!(report["stage"], "blue");
    assert_eq!(report["build"]["git_sha"], BUILD.git_sha);
    assert_eq!(report["build"]["built_at"], BUILD.built_at);
    assert_eq!(report["build"]["arch"], std::env::consts::ARCH);
}

#[tokio::test]
async fn health_names_missing_required_env_never_its_value() {
    // deploy.toml's `[app] required_env` names GREETING, baked in by build.rs.
    let ok = response(Event::get("/health")).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(json_body(&ok)["status"], "ok");
    let unset = Contract::with_vars([("GREETING".to_owned(), String::new())]);
    let (missing, _) = answer(unset, Event::get("/health")).await;
    let missing = missing.unwrap();
    assert_eq!(missing.status(), 503, "an empty value counts as missing");
    assert_eq!(json_body(&missing)["missing_env"], json!(["GREETING"]));
}

#[tokio::test]
async fn contract_paths_answer_get_and_head_only() {
    for path in ["/version", "/health"] {
        for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
            let (response, calls) = answer(contract(), Event::get(path).method(method)).await;
            let response = response.unwrap();
            assert_eq!(response.status(), 405, "{method} {path}");
            assert_eq!(response.headers()["allow"], "GET, HEAD");
            assert_eq!(json_body(&response)["error"], "method not allowed");
            assert_eq!(calls, 0);
        }
        let head = response(Event::get(path).method("HEAD")).await;
        assert_eq!(head.status(), 200);
        assert!(matches!(head.body(), Body::Empty), "HEAD has no body");
        assert_eq!(head.headers()[VERSION_HEADER], "7");
    }
}

#[tokio::test]
async fn the_services_own_answers_carry_the_headers_its_500s_included() {
    for (path, status, body) in [
        ("/", 200, "user root"),
        ("/boom", 500, "user 500"),
        ("/x", 404, "user 404"),
    ] {
        let (response, calls) = answer(contract(), Event::get(path)).await;
        let response = response.unwrap();
        assert_eq!(calls, 1);
        assert_eq!(response.status(), status);
        assert_eq!(text(&response), body);
        assert_eq!(response.headers()[VERSION_HEADER], "7");
        assert_eq!(response.headers()[ALIAS_HEADER], "green");
    }
    let head = response(Event::get("/boom").method("HEAD")).await;
    assert_eq!(head.status(), 500);
    assert!(matches!(head.body(), Body::Empty));
}

#[tokio::test]
async fn the_services_errors_stay_errors_for_lambda_to_count() {
    let (response, _) = answer(contract(), Event::get("/fail")).await;
    assert_eq!(response.unwrap_err().to_string(), "the user's error");
}

#[tokio::test]
async fn the_service_sees_its_own_path_and_query_never_the_stage() {
    let response = response(Event::get("/echo").on_blue(Some(TOKEN))).await;
    assert_eq!(text(&response), "/echo?q=1");
}

#[tokio::test]
async fn a_service_answering_a_contract_path_is_refused_at_start_up() {
    let everything =
        service_fn(|_: Request| async { Ok::<_, Error>(Response::new(Body::from("mine"))) });
    let clash = contract().layer(everything).await.unwrap_err();
    assert_eq!(
        clash,
        Clash {
            path: "/version".into(),
            status: 200
        }
    );
    assert!(clash.to_string().contains("[app] version_path"), "{clash}");

    // Moved out of the way, the contract answers there and the service keeps /version.
    let only_version = service_fn(|request: Request| async move {
        let status = if request.uri().path() == "/version" {
            200
        } else {
            404
        };
        Ok::<_, Error>(
            Response::builder()
                .status(status)
                .body(Body::from("mine"))?,
        )
    });
    let moved = contract()
        .version_path("/_bgd/version/")
        .health_path("/_bgd/health");
    let guarded = moved
        .layer(only_version)
        .await
        .expect("no clash once moved");
    let theirs = guarded
        .clone()
        .oneshot(Event::get("/version").request())
        .await
        .unwrap();
    assert_eq!(text(&theirs), "mine");
    let ours = guarded
        .oneshot(Event::get("/_bgd/version").request())
        .await
        .unwrap();
    assert_eq!(json_body(&ours)["version"], "7");
}
