//! Environments end to end on one local cloud serving two accounts and two regions: staging in
//! one account, production in another with two regions; a commit ships to staging, then to
//! production by digest (production's own blue verifying it), a failure in production's
//! second region is stated region by region, and one rollback puts production back.
use std::process::Output;

use serde_json::Value;

use e2e::stack::{Stack, images, path, version_at};

const STAGING: &str = "111111111111";
const PRODUCTION: &str = "222222222222";

/// deploy.toml with staging and production, each in an account of its own; production's
/// greeting its own.
fn configure(stack: &Stack) {
    let text = format!(
        r#"[project]
name = "{name}"
region = "us-east-1"

[function]
memory_mb = 128
timeout_s = 5

[function.environment]
GREETING = "hello from staging"

[[smoke]]
path = "/"
contains = "hello"

[environments.staging]
account = "{STAGING}"
role_arn = "arn:aws:iam::{STAGING}:role/bgd-deploy"

[environments.production]
account = "{PRODUCTION}"
regions = ["us-east-1", "eu-west-1"]

[environments.production.function.environment]
GREETING = "hello from production"

[environments.elsewhere]
account = "333333333333"
profile = "wrong"
"#,
        name = stack.name
    );
    std::fs::write(&stack.deploy_toml, text).unwrap();
}

/// An AWS config whose profile `wrong` holds credentials of account 444444444444 (the local
/// cloud takes a 12-digit access key id for the account).
fn wrong_profile(stack: &Stack) -> [(&'static str, String); 2] {
    let file = stack.dir.join("aws-config");
    std::fs::write(
        &file,
        "[profile wrong]\naws_access_key_id = 444444444444\naws_secret_access_key = local\n",
    )
    .unwrap();
    let file = file.display().to_string();
    [
        ("AWS_CONFIG_FILE", file.clone()),
        ("AWS_SHARED_CREDENTIALS_FILE", file),
    ]
}

/// Every JSON document a run printed (one per region), each checked against the schema.
fn documents(verb: &str, output: &Output) -> Vec<Value> {
    let documents: Vec<Value> = serde_json::Deserializer::from_slice(&output.stdout)
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("--json prints JSON documents");
    for document in &documents {
        e2e::schema::check(verb, output.status.success(), document);
    }
    documents
}

async fn ok(stack: &Stack, args: &[&str]) -> Vec<Value> {
    let output = stack.xtask(args).await;
    assert!(output.status.success(), "cargo xtask {args:?} failed");
    documents(args[0], &output)
}

/// What green serves in one region of an environment, as `status` reads it.
async fn green_in(stack: &Stack, environment: &str, region: &str) -> (String, Value) {
    let status = ok(stack, &["status", "--env", environment, "--region", region]).await;
    let alias = status[0]["aliases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["alias"] == "green")
        .unwrap()
        .clone();
    (
        alias["version"].as_str().unwrap().to_owned(),
        alias["record"].clone(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_commit_ships_to_staging_then_to_production_by_digest_verified_on_productions_blue() {
    let (image_a, image_b) = images();
    let stack = Stack::new("envs-ship");
    configure(&stack);

    // Without --env, a deploy.toml with environments names them rather than guess.
    let refused = stack.refused(&["deploy", "--image", path(image_a)]).await;
    assert!(refused.contains("name one with --env"), "{refused}");

    let staging = ok(
        &stack,
        &["deploy", "--env", "staging", "--image", path(image_a)],
    )
    .await;
    let [staging] = staging.as_slice() else {
        panic!("one region, one result: {staging:?}")
    };
    assert_eq!(staging["environment"]["account"], STAGING);
    let digest = staging["digest"].as_str().unwrap().to_owned();

    // Production is provisioned on its own (with another build), as on AWS.
    let provisioned = ok(
        &stack,
        &["provision", "--env", "production", "--image", path(image_b)],
    )
    .await;
    assert_eq!(provisioned.len(), 2, "one result per region");

    // Production, by digest: no build, the image staging's green serves, verified on each
    // region's own blue, in order.
    let production = ok(
        &stack,
        &["deploy", "--env", "production", "--from", "staging"],
    )
    .await;
    let regions: Vec<&Value> = production
        .iter()
        .map(|d| &d["environment"]["region"])
        .collect();
    assert_eq!(regions, ["us-east-1", "eu-west-1"]);
    for region in &production {
        assert_eq!(region["environment"]["account"], PRODUCTION);
        assert_eq!(region["outcome"], "deployed", "{region}");
        assert_eq!(region["digest"], digest, "{region}");
        assert_eq!(region["origin"]["environment"], "staging");
        assert_eq!(region["origin"]["version"], staging["version"]);
        assert_eq!(region["origin"]["digest"], digest);
        assert_eq!(region["same_image"], true);
        assert!(
            region["phases"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["phase"] == "verify"),
            "production's own blue verified it: {region}"
        );
        // Served with production's own configuration, in its own account and region.
        let (status, report) = version_at(region["green_url"].as_str().unwrap(), None).await;
        assert_eq!(status, 200);
        assert_eq!(report["version"], region["version"].to_string());
    }
    // Production's version record names where its image came from.
    let (_, record) = green_in(&stack, "production", "eu-west-1").await;
    assert_eq!(record["origin"]["environment"], "staging", "{record}");
    assert_eq!(record["digest"], digest);

    let wrong = wrong_profile(&stack);
    let wrong: Vec<(&str, &str)> = wrong.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let table = stack
        .xtask_with(&["status", "--environments"], &wrong)
        .await;
    let table = documents("status", &table);
    let rows = table[0]["environments"].as_array().unwrap();
    let served: Vec<(&str, &str, &str)> = rows
        .iter()
        .filter(|r| r["error"].is_null())
        .map(|r| {
            let field = |k: &str| r[k].as_str().unwrap();
            (field("environment"), field("region"), field("digest"))
        })
        .collect();
    assert_eq!(
        served,
        [
            ("production", "us-east-1", digest.as_str()),
            ("production", "eu-west-1", digest.as_str()),
            ("staging", "us-east-1", digest.as_str()),
        ]
    );
    // An environment its profile cannot reach is a row with the reason.
    let elsewhere = rows.iter().find(|r| r["environment"] == "elsewhere");
    let error = elsewhere.unwrap()["error"].as_str().unwrap();
    assert!(error.contains("for account 444444444444"), "{error}");

    // Credentials for another account than the environment's stop the run before any write.
    let deploy = ["deploy", "--env", "elsewhere", "--image", path(image_a)];
    let refused = stack.xtask_with(&deploy, &wrong).await;
    assert_eq!(refused.status.code(), Some(1));
    let refused = String::from_utf8_lossy(&refused.stderr);
    assert!(
        refused.contains(
            "environment elsewhere is account 333333333333, but these credentials are for account 444444444444"
        ) && refused.contains("nothing was changed"),
        "{refused}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failure_in_productions_second_region_is_stated_by_region_and_one_rollback_puts_it_back()
{
    let (image_a, image_b) = images();
    let stack = Stack::new("envs-fail");
    configure(&stack);
    ok(
        &stack,
        &["deploy", "--env", "staging", "--image", path(image_a)],
    )
    .await;
    let provision = ["provision", "--env", "production", "--image", path(image_b)];
    ok(&stack, &provision).await;
    let first = ok(
        &stack,
        &["deploy", "--env", "production", "--from", "staging"],
    )
    .await;
    let before: Vec<Value> = first.iter().map(|d| d["version"].clone()).collect();

    // Staging moves to b; in production's second region another run holds the lock.
    ok(
        &stack,
        &["deploy", "--env", "staging", "--image", path(image_b)],
    )
    .await;
    let eu = ["--env", "production", "--region", "eu-west-1"];
    let held = [&["deploy", "--image", path(image_b), "--hold"][..], &eu].concat();
    ok(&stack, &held).await;

    let failed = stack
        .xtask(&["deploy", "--env", "production", "--from", "staging"])
        .await;
    assert_eq!(failed.status.code(), Some(4), "the lock in eu-west-1");
    let stderr = String::from_utf8_lossy(&failed.stderr);
    let stated = stderr
        .split("==> every region's green:")
        .nth(1)
        .unwrap_or_else(|| panic!("every region's green stated: {stderr}"));
    assert!(
        stated.contains("us-east-1: done; green serves version 3")
            && stated.contains("eu-west-1: failed; green serves version 2"),
        "{stated}"
    );

    ok(&stack, &[&["abort"][..], &eu].concat()).await;
    // One command: us-east-1 back on staging's first image, eu-west-1 already there.
    let back = stack.xtask(&["rollback", "--env", "production"]).await;
    assert!(back.status.success());
    let stderr = String::from_utf8_lossy(&back.stderr);
    assert!(
        stderr.contains("green already serves it (version 2)"),
        "{stderr}"
    );
    for (region, version) in ["us-east-1", "eu-west-1"].into_iter().zip(&before) {
        let (green, _) = green_in(&stack, "production", region).await;
        assert_eq!(&green, &version.to_string(), "{region}");
    }
}
