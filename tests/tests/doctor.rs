//! `cargo xtask doctor` against a local cloud: an operator's set-up made as docs/aws.md says
//! (moto serves IAM), then broken one piece at a time; every run reads only.
use bgd_aws::Operator;
use bgd_core::cloud::Apis;
use e2e::stack::{Stack, images, path};
use serde_json::Value;

const ACCOUNT: &str = "123456789012";
const REPO: [&str; 4] = ["--repo", "octo/app", "--environment", "production"];

/// `doctor` in `region` (the environment's, beside deploy.toml's): its JSON report and exit
/// code, having written nothing.
async fn doctor(stack: &Stack, region: &str) -> (Value, i32) {
    let mut args = vec!["doctor"];
    args.extend(REPO);
    let output = stack.xtask_with(&args, &[("AWS_REGION", region)]).await;
    let report: Value = serde_json::from_slice(&output.stdout).expect("doctor --json");
    assert_eq!(report["write_calls"], 0, "doctor only reads: {report}");
    (report, output.status.code().unwrap())
}

/// The checks with a finding, by name, each with a fix to run.
fn findings(report: &Value) -> Vec<String> {
    let checks = report["checks"].as_array().unwrap();
    let found: Vec<String> = checks
        .iter()
        .filter(|c| c["verdict"] == "finding")
        .map(|c| {
            assert!(c["fix"].as_str().is_some_and(|f| !f.is_empty()), "{c}");
            c["check"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(report["findings"], found.len(), "{report}");
    found
}

fn detail<'r>(report: &'r Value, check: &str) -> &'r str {
    let checks = report["checks"].as_array().unwrap();
    let check = checks.iter().find(|c| c["check"] == check).unwrap();
    check["detail"].as_str().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_names_each_broken_piece_of_the_setup_with_its_fix_and_writes_nothing() {
    let (image_a, _) = images();
    let stack = Stack::new("e2e-doctor");
    stack.ok(&["deploy", "--image", path(image_a)]).await;
    let role = "e2e-doctor-deploy";

    // A provisioned stack in an account nobody set up for GitHub.
    let (report, code) = doctor(&stack, "us-east-1").await;
    assert_eq!(code, 8, "{report}");
    assert_eq!(findings(&report), ["oidc provider", "deploy role"]);

    // docs/aws.md, steps 2 and 3: the provider, the role trusting one environment, its policy.
    let cloud = stack.cloud().await;
    let api = cloud.find_rest_api("e2e-doctor").await.unwrap();
    let api_id = api.id.as_str();
    let trust = stack
        .ok(&[
            "iam-policy",
            "--account",
            ACCOUNT,
            "--trust",
            "--repo",
            "octo/app",
            "--environment",
            "production",
        ])
        .await;
    let policy = stack
        .ok(&["iam-policy", "--account", ACCOUNT, "--api-id", api_id])
        .await;
    cloud
        .create_oidc_provider(
            "https://token.actions.githubusercontent.com",
            &["sts.amazonaws.com"],
        )
        .await
        .unwrap();
    cloud.create_role(role, &trust).await.unwrap();
    cloud.put_role_policy(role, role, &policy).await.unwrap();
    let (report, code) = doctor(&stack, "us-east-1").await;
    assert_eq!(findings(&report), Vec::<String>::new(), "{report}");
    assert_eq!(code, 0);

    // Broken one piece at a time: a region elsewhere, a trust pattern, a missing grant, the
    // green permission and the repository policy gone.
    let loose: Value = serde_json::from_str(
        &trust
            .to_string()
            .replace("StringEquals", "StringLike")
            .replace("repo:octo/app:environment:production", "repo:octo/app:*"),
    )
    .unwrap();
    let mut narrowed = policy.clone();
    for statement in narrowed["Statement"].as_array_mut().unwrap() {
        statement["Action"]
            .as_array_mut()
            .unwrap()
            .retain(|a| a != "lambda:UpdateAlias");
    }
    cloud.update_trust(role, &loose).await.unwrap();
    cloud.put_role_policy(role, role, &narrowed).await.unwrap();
    cloud
        .remove_permission("e2e-doctor", "green", "e2e-doctor-apigateway-green")
        .await
        .unwrap();
    // A policy by hand that lets anyone pull, and Lambda no longer.
    let public = serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "Public",
        "Effect": "Allow",
        "Principal": "*",
        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
    }]});
    cloud
        .set_repository_policy("e2e-doctor", &public)
        .await
        .unwrap();

    let (report, code) = doctor(&stack, "eu-west-1").await;
    assert_eq!(code, 8);
    assert_eq!(
        findings(&report),
        [
            "region",
            "deploy role trust",
            "deploy role policy",
            "repository policy",
            "permission green"
        ],
        "{report}"
    );
    assert!(detail(&report, "region").contains("eu-west-1"));
    let trust_detail = detail(&report, "deploy role trust");
    assert!(
        trust_detail.contains("pattern") && trust_detail.contains("is not trusted"),
        "{trust_detail}"
    );
    let missing = detail(&report, "deploy role policy");
    assert!(
        missing.contains(
            "lambda:UpdateAlias on arn:aws:lambda:us-east-1:123456789012:function:e2e-doctor"
        ),
        "{missing}"
    );
    assert!(!missing.contains("lambda:GetAlias"), "{missing}");

    // What doctor says to run for the stack's findings mends them. Provision puts Lambda's pull
    // back beside the statement written by hand (which it keeps), and doctor still names that
    // one: it lets anyone pull (security-audit-3 N11; it passed as "ok" beside Lambda's).
    stack.ok(&["provision"]).await;
    let (report, _) = doctor(&stack, "us-east-1").await;
    assert_eq!(
        findings(&report),
        [
            "deploy role trust",
            "deploy role policy",
            "repository policy"
        ],
        "{report}"
    );
    let public = detail(&report, "repository policy");
    assert!(
        public.contains(r#"["Public"]"#) && public.contains("anyone pull"),
        "{public}"
    );
}
