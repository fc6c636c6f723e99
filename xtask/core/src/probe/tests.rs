//! The checks of a stage against stages that answer as blue, API Gateway or a moved contract would.
use std::time::Duration;

use super::*;

fn report(version: &str, alias: &str, sha: &str) -> SelfReport {
    SelfReport {
        function: Some("bgd".into()),
        version: Some(version.into()),
        alias: Some(alias.into()),
        stage: Some("blue".into()),
        build: ReportedBuild {
            git_sha: sha.into(),
            dirty: false,
            built_at: "t".into(),
            id: None,
            arch: Some("x86_64".into()),
        },
    }
}

proptest::proptest! {
    #[test]
    fn any_body_is_clipped_without_panicking(body in "\\PC{0,1200}") {
        let clipped = clip(body.clone());
        proptest::prop_assert!(clipped.len() <= BODY_LIMIT);
        proptest::prop_assert!(body.starts_with(&clipped));
    }
}

#[test]
fn a_report_matches_only_the_expected_version_alias_and_build() {
    let expect = Expect {
        version: 7,
        alias: "blue".into(),
        git_sha: "abc".into(),
        build_id: None,
    };
    assert!(matches(&report("7", "blue", "abc"), &expect).is_ok());
    let err = matches(&report("6", "green", "abd"), &expect).unwrap_err();
    assert!(
        err.contains("version") && err.contains("alias") && err.contains("git sha"),
        "{err}"
    );
}

/// Blue while its alias moves from version 1 to 2: the first `/health` reaches a node still
/// on version 1 (healthy); version 2 answers 503.
struct Propagating {
    health_asked: std::sync::atomic::AtomicBool,
}

impl Http for Propagating {
    async fn send(&self, request: Request) -> Result<Answer, String> {
        let from = |version: &str, status: u16, body: &str| Answer {
            status,
            body: body.into(),
            app_version: Some(version.into()),
        };
        let token = request.header(VERIFY_TOKEN_HEADER).is_some();
        Ok(
            match request.url.rsplit_once("/stage").map(|(_, path)| path) {
                Some("/version") if token => from(
                    "2",
                    200,
                    r#"{"function":"bgd","version":"2","alias":"blue","stage":"blue","build":{"git_sha":"abc","dirty":false,"built_at":"t"}}"#,
                ),
                Some("/version") => from("2", 403, "{}"),
                Some("/health")
                    if !self
                        .health_asked
                        .swap(true, std::sync::atomic::Ordering::Relaxed) =>
                {
                    from("1", 200, "{}")
                }
                _ => from("2", 503, "{}"),
            },
        )
    }
}

/// Blue (with its token) and what it must report: version 2 of build `abc`.
fn blue_of_version_2() -> (Endpoint, Expect) {
    let endpoint = Endpoint {
        url: "http://blue/stage".into(),
        token: Some(Secret::from("t0ken".to_owned())),
    };
    let expect = Expect {
        version: 2,
        alias: "blue".into(),
        git_sha: "abc".into(),
        build_id: None,
    };
    (endpoint, expect)
}

#[tokio::test(start_paused = true)]
async fn a_check_answered_by_the_old_version_is_asked_again_not_taken() {
    let prober = Prober::new(Propagating {
        health_asked: Default::default(),
    });
    let (endpoint, expect) = blue_of_version_2();
    let failure = prober
        .verify(&endpoint, &expect, &[], Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(
        failure.check.contains("/health") && failure.status == Some(503),
        "{failure}"
    );
}

/// Blue answering `/` with a page of 3,000 bytes, a secret of 2,500 across the shown limit,
/// then `needle`; every other path as a healthy blue of version 2 (its own 403 without the
/// token).
struct BigPage;

const BIG_SECRET_PART: &str = "Big-Secret-Value-";

impl Http for BigPage {
    async fn send(&self, request: Request) -> Result<Answer, String> {
        if request.header(VERIFY_TOKEN_HEADER).is_none() {
            return Ok(Answer {
                status: 403,
                body: "{}".into(),
                app_version: Some("2".into()),
            });
        }
        let body = match request.url.rsplit_once("/stage").map(|(_, path)| path) {
            Some("/version") => r#"{"function":"bgd","version":"2","alias":"blue","stage":"blue","build":{"git_sha":"abc","dirty":false,"built_at":"t"}}"#.to_owned(),
            Some("/") => format!("{}{}needle", "x".repeat(500), BIG_SECRET_PART.repeat(150)),
            _ => "{}".to_owned(),
        };
        Ok(Answer {
            status: 200,
            body,
            app_version: Some("2".into()),
        })
    }
}

/// security-audit-3 N9 and adversarial-3 m4: the body was clipped to 2,000 bytes before a
/// smoke check's `contains` was looked for (text past it never found) and before redaction
/// (the part of a secret before the cut was printed).
#[tokio::test]
async fn contains_sees_the_whole_body_and_a_failure_shows_no_part_of_a_secret() {
    crate::secret::register(&BIG_SECRET_PART.repeat(150));
    let prober = Prober::new(BigPage);
    let (endpoint, expect) = blue_of_version_2();
    let smoke = |contains: &str| Smoke {
        method: "GET".into(),
        path: "/".into(),
        headers: Default::default(),
        json: None,
        body: None,
        status: 200,
        contains: Some(contains.into()),
    };
    let patience = Duration::from_secs(1);
    let found = prober
        .verify(&endpoint, &expect, &[smoke("needle")], patience)
        .await;
    assert!(found.is_ok(), "text past 2,000 bytes is found");
    let failure = prober
        .verify(&endpoint, &expect, &[smoke("absent")], patience)
        .await
        .unwrap_err();
    assert!(failure.body.len() <= BODY_LIMIT, "{}", failure.body.len());
    assert!(!failure.body.contains(BIG_SECRET_PART), "{}", failure.body);
}

/// A Lambda whose contract answers where deploy.toml moved it (`/_bgd/...`); its own routes
/// answer 404 elsewhere.
struct MovedContract;

impl Http for MovedContract {
    async fn send(&self, request: Request) -> Result<Answer, String> {
        let token = request.header(VERIFY_TOKEN_HEADER).is_some();
        let (status, body) = match request.url.rsplit_once("/stage").map(|(_, path)| path) {
            Some("/_bgd/version") if token => (
                200,
                r#"{"function":"bgd","version":"2","alias":"blue","stage":"blue","build":{"git_sha":"abc","dirty":false,"built_at":"t"}}"#,
            ),
            Some("/_bgd/version") => (403, "{}"),
            Some("/_bgd/health") => (200, "{}"),
            _ => (404, "not found"),
        };
        Ok(Answer {
            status,
            body: body.into(),
            app_version: Some("2".into()),
        })
    }
}

/// Every check of a stage asks the contract where deploy.toml's `[app]` puts it: before, the
/// paths were fixed, so a Lambda that moved its contract (a route of its own at `/version`)
/// failed verification.
#[tokio::test]
async fn the_checks_ask_the_contract_where_deploy_toml_puts_it() {
    let (endpoint, expect) = blue_of_version_2();
    let moved = crate::config::ContractPaths {
        version: "/_bgd/version".into(),
        health: "/_bgd/health".into(),
    };
    let patience = Duration::from_secs(1);
    let prober = Prober::new(MovedContract).with_paths(moved);
    assert!(
        prober
            .verify(&endpoint, &expect, &[], patience)
            .await
            .is_ok()
    );
    assert!(prober.self_report(&endpoint).await.is_ok());
    let fixed = Prober::new(MovedContract);
    let failure = fixed.verify(&endpoint, &expect, &[], patience).await;
    assert!(failure.unwrap_err().url.ends_with("/version"));
}

#[test]
fn a_requests_verify_token_never_shows_in_debug_output() {
    let request = Request {
        method: "GET".into(),
        url: "https://api/blue/version".into(),
        headers: vec![
            (VERIFY_TOKEN_HEADER.into(), "token-9b2e".into()),
            ("accept".into(), "application/json".into()),
        ],
        body: None,
    };
    let shown = format!("{request:?}");
    assert!(!shown.contains("token-9b2e"), "{shown}");
    assert!(shown.contains("application/json"), "{shown}");
}
