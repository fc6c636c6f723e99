//! Security end to end: blue answers only with its token; the token and every environment
//! value stay out of logs, `--json` output and the step summary; the function's permission
//! policy does not grow with deploys, one statement per alias scoped to its own stage.
use bgd_core::cloud::Functions;
use e2e::stack::{Stack, images, path, stage, version_at};
use proptest::{
    prelude::*,
    strategy::ValueTree,
    test_runner::{Config, TestRunner},
};

/// Planted through `${VAR}` references in deploy.toml's environment.
const SECRETS: [(&str, &str, &str); 2] = [
    ("API_KEY", "BGD_E2E_PLANTED_KEY", "planted-key-7f3a9c21e5"),
    (
        "DB_PASSWORD",
        "BGD_E2E_PLANTED_PASSWORD",
        "planted-password-0d4b88e1",
    ),
];

/// Every file under `dir` (logs, summaries) that holds `needle`.
fn files_holding(dir: &std::path::Path, needle: &str, found: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_holding(&path, needle, found);
        } else if std::fs::read(&path)
            .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
        {
            found.push(path.display().to_string());
        }
    }
}

/// The status blue answers `method path` with, sending `header` (name, value) if any.
async fn blue_status(
    blue_url: &str,
    method: &str,
    path: &str,
    header: Option<(&str, &str)>,
) -> u16 {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = bgd_tls::client().request(method, format!("{blue_url}{path}"));
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    request.send().await.unwrap().status().as_u16()
}

/// Every route (the app's own, `/health`, unknown ones) and method refuses a missing or wrong
/// token with 403, and takes the right one under any spelling of the header's name; then the
/// same as a property over generated methods, paths and wrong tokens.
async fn blue_answers_only_its_token_on_every_route_and_method(blue_url: &str, token: &str) {
    const METHODS: [&str; 7] = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE", "PATCH"];
    for path in ["/version", "/health", "/", "/greet", "/no/such/route"] {
        for method in METHODS {
            for header in [None, Some(("x-verify-token", "wrong"))] {
                let status = blue_status(blue_url, method, path, header).await;
                assert_eq!(status, 403, "{method} {path} with {header:?}");
            }
        }
    }
    for name in ["x-verify-token", "X-Verify-Token", "X-VERIFY-TOKEN"] {
        for (method, path, expected) in [
            ("GET", "/version", 200),
            ("HEAD", "/version", 200),
            ("GET", "/health", 200),
            ("GET", "/no/such/route", 404),
            ("OPTIONS", "/version", 405),
        ] {
            let status = blue_status(blue_url, method, path, Some((name, token))).await;
            assert_eq!(status, expected, "{method} {path} with {name}");
        }
    }

    // The property: with the token set, a missing or wrong header is 403 whatever the method
    // and path; the right one never is. Wrong tokens include near misses of the right one.
    let near_misses = (0..token.len(), any::<u8>()).prop_map({
        let token = token.to_owned();
        move |(at, byte)| {
            let mut wrong = token.clone().into_bytes();
            wrong[at] = if wrong[at] == b'!' + byte % 94 {
                b'~'
            } else {
                b'!' + byte % 94
            };
            String::from_utf8(wrong).unwrap()
        }
    });
    let header = prop_oneof![
        Just(None),
        "[!-~]{0,80}".prop_map(Some),
        near_misses.prop_map(Some),
        Just(Some(token[..token.len() - 1].to_owned())),
        Just(Some(format!("{token}0"))),
        Just(Some(token.to_uppercase())),
    ];
    let case = (
        prop::sample::select(METHODS.to_vec()),
        "(/[a-z0-9_-]{0,12}){1,3}",
        header,
    );
    let mut runner = TestRunner::new(Config {
        cases: 96,
        ..Config::default()
    });
    let mut refused = 0;
    for _ in 0..96 {
        let (method, path, header) = case.new_tree(&mut runner).unwrap().current();
        let wrong = header.as_deref().filter(|h| *h != token);
        let status = match &header {
            Some(value) => {
                blue_status(blue_url, method, &path, Some(("x-verify-token", value))).await
            }
            None => blue_status(blue_url, method, &path, None).await,
        };
        if header.is_none() || wrong.is_some() {
            assert_eq!(status, 403, "{method} {path} with {header:?}");
            refused += 1;
        } else {
            assert_ne!(status, 403, "{method} {path} with the right token");
        }
    }
    eprintln!("blue token property: 96 generated requests, {refused} refused with 403");
}

#[tokio::test(flavor = "multi_thread")]
async fn blue_needs_its_token_and_no_secret_shows_in_any_output_log_or_summary() {
    let (image_a, image_b) = images();
    let stack = Stack::new("secrets");
    let environment = SECRETS
        .iter()
        .map(|(name, var, _)| format!("{name} = \"${{{var}}}\""))
        .collect::<Vec<_>>()
        .join("\n");
    stack.configure(&format!("GREETING = \"hello\"\n{environment}"), "hello");
    let planted: Vec<(&str, &str)> = SECRETS
        .iter()
        .map(|(_, var, value)| (*var, *value))
        .collect();

    let mut outputs = Vec::new();
    for args in [
        vec!["deploy", "--image", path(image_a)],
        vec!["deploy", "--image", path(image_b), "--keep-blue"],
        vec!["status"],
        vec!["history"],
    ] {
        let output = stack.xtask_with(&args, &planted).await;
        assert!(output.status.success(), "{args:?}");
        outputs.push(output);
    }
    let shown = stack.ok(&["status", "--show-token"]).await;
    let blue = stage(&shown, "blue").unwrap();
    let token = blue["variables"]["verify_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let blue_url = blue["url"].as_str().unwrap();
    assert_eq!(version_at(blue_url, None).await.0, 403);
    assert_eq!(version_at(blue_url, Some("wrong")).await.0, 403);
    assert_eq!(
        version_at(blue_url, Some(&token[..token.len() - 1]))
            .await
            .0,
        403
    );
    assert_eq!(version_at(blue_url, Some(&token)).await.0, 200);
    blue_answers_only_its_token_on_every_route_and_method(blue_url, &token).await;
    let output = stack
        .xtask_with(
            &["deploy", "--image", path(image_a), "--break-lock"],
            &planted,
        )
        .await;
    assert!(output.status.success());
    outputs.push(output);

    let mut needles: Vec<&str> = SECRETS.iter().map(|(_, _, value)| *value).collect();
    needles.push(&token);
    for needle in &needles {
        for output in &outputs {
            for stream in [&output.stdout, &output.stderr] {
                assert!(
                    !String::from_utf8_lossy(stream).contains(needle),
                    "a secret shows in the output: {}",
                    String::from_utf8_lossy(stream)
                );
            }
        }
        let mut found = Vec::new();
        files_holding(&stack.dir, needle, &mut found);
        assert!(found.is_empty(), "a secret shows in {found:?}");
    }
    eprintln!("secrets planted: {}, leaked: 0", needles.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_permission_policy_is_the_same_after_twenty_deploys_as_after_one() {
    let (image_a, image_b) = images();
    let stack = Stack::new("policy");
    stack.ok(&["deploy", "--image", path(image_a)]).await;
    // Provision again: it finds every statement and adds none (moto would append a duplicate
    // where AWS answers Conflict).
    stack.ok(&["provision"]).await;
    let cloud = stack.cloud().await;
    let policy = async |alias: &str| {
        cloud
            .permission_statements(&stack.name, alias)
            .await
            .unwrap()
    };
    let after_one = (policy("blue").await, policy("green").await);
    // One fixed statement per alias (moto answers GetPolicy with the whole function's).
    let fixed = ["blue", "green"].map(|alias| format!("{}-apigateway-{alias}", stack.name));
    for statements in [&after_one.0, &after_one.1] {
        assert!(
            statements.iter().all(|s| fixed.contains(s)),
            "{statements:?}"
        );
        // Sorted first: `dedup` only drops neighbours, and [blue, green, blue] has none.
        let mut unique = statements.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(
            unique.len(),
            statements.len(),
            "no duplicate statement: {statements:?}"
        );
    }
    for image in [image_b, image_a].into_iter().cycle().take(19) {
        stack.ok(&["deploy", "--image", path(image)]).await;
    }
    assert_eq!((policy("blue").await, policy("green").await), after_one);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_shows_on_failure_paths_either() {
    let (image_a, image_b) = images();
    let stack = Stack::new("secrets-failing");
    stack.ok(&["deploy", "--image", path(image_a)]).await;
    let secret = "planted-greeting-5c2e91ab";
    let planted = [("BGD_E2E_PLANTED_GREETING", secret)];
    // The app answers `/` with the secret; the smoke check fails and shows the body it got.
    stack.configure(
        "GREETING = \"${BGD_E2E_PLANTED_GREETING}\"",
        "a phrase it never says",
    );
    let failed = stack
        .xtask_with(&["deploy", "--image", path(image_b)], &planted)
        .await;
    assert_eq!(failed.status.code(), Some(5));
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        stderr.contains("check failed: GET / answers 200"),
        "{stderr}"
    );
    assert!(
        stderr.contains("[redacted]"),
        "the body is shown, redacted: {stderr}"
    );
    // A PEM-like key whose names and values add up to less than Lambda's 4 KB but whose JSON,
    // where Lambda measures it, is over: each `"`, `\` and newline takes two bytes there, and
    // Lambda's error quotes every value escaped (security-audit-3 #1). Refused before any call,
    // measured as Lambda does, naming no value.
    let big = format!(
        "-----BEGIN PLANTED KEY-----\n{}\n-----END PLANTED KEY-----",
        "\"k\\".repeat(1100)
    );
    let raw = "GREETING".len() + "hello".len() + "BIG".len() + big.len();
    assert!(raw < 4096, "names and values: {raw} bytes");
    stack.configure(
        "GREETING = \"hello\"\nBIG = \"${BGD_E2E_PLANTED_BIG}\"",
        "hello",
    );
    let oversized = stack
        .xtask_with(
            &["deploy", "--image", path(image_b)],
            &[("BGD_E2E_PLANTED_BIG", big.as_str())],
        )
        .await;
    assert_eq!(oversized.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&oversized.stderr);
    assert!(
        stderr.contains("measured as Lambda does")
            && stderr.contains(&format!("BIG ({} bytes)", big.len())),
        "{stderr}"
    );
    // The key as it is, JSON-escaped, and its lines.
    let key_forms = ["PLANTED KEY", "\"k\\\"k", "\\\"k\\\\"];
    for output in [&failed, &oversized] {
        for text in [&output.stdout, &output.stderr] {
            let text = String::from_utf8_lossy(text);
            assert!(!text.contains(secret), "{text}");
            for form in key_forms {
                assert!(!text.contains(form), "{form} in {text}");
            }
        }
    }
    // The key was refused before any call: no file holds it, not even the local cloud's.
    let mut found = Vec::new();
    files_holding(&stack.dir, "PLANTED KEY", &mut found);
    assert!(found.is_empty(), "the key is in {found:?}");
    // Nor the greeting's secret: the local cloud keeps functions' configurations in memory, as
    // its logs show no value (the scan left out `/local/` before, with no reason given).
    files_holding(&stack.dir, secret, &mut found);
    assert!(found.is_empty(), "the secret is in {found:?}");
}
