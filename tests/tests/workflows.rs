//! The GitHub workflows' safety properties, read from their YAML: OIDC credentials, one
//! concurrency group for deploy and rollback that never cancels, and no input spliced into a
//! shell script.
use std::process::Command;

use serde_yaml_ng::Value;
use xtask::setup;

fn workflow(name: &str) -> Value {
    let path = setup::workspace_root().join(".github/workflows").join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The single job of a deploying workflow.
fn only_job(workflow: &Value) -> &Value {
    let jobs = workflow["jobs"].as_mapping().unwrap();
    assert_eq!(
        jobs.len(),
        1,
        "one job, so the concurrency group covers it all"
    );
    jobs.values().next().unwrap()
}

fn steps(job: &Value) -> &[Value] {
    job["steps"].as_sequence().unwrap()
}

fn run_scripts(workflow: &Value) -> Vec<&str> {
    let jobs = workflow["jobs"].as_mapping().unwrap();
    jobs.values()
        .flat_map(|job| steps(job).iter())
        .filter_map(|step| step["run"].as_str())
        .collect()
}

#[test]
fn deploy_and_rollback_assume_the_role_through_oidc_in_an_environment() {
    for name in ["deploy.yml", "rollback.yml"] {
        let workflow = workflow(name);
        assert_eq!(workflow["permissions"]["contents"], "read", "{name}");
        assert!(
            workflow["permissions"]["id-token"].is_null(),
            "{name}: id-token only on the job"
        );
        let job = only_job(&workflow);
        assert_eq!(job["permissions"]["id-token"], "write", "{name}");
        assert_eq!(job["permissions"]["contents"], "read", "{name}");
        assert_eq!(job["permissions"].as_mapping().unwrap().len(), 2, "{name}");
        assert!(
            job["environment"].is_string(),
            "{name}: a GitHub environment holds the protection rules"
        );
        let credentials = steps(job)
            .iter()
            .find(|s| {
                s["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("aws-actions/configure-aws-credentials@"))
            })
            .unwrap_or_else(|| panic!("{name}: no configure-aws-credentials step"));
        assert_eq!(
            credentials["with"]["role-to-assume"], "${{ vars.AWS_DEPLOY_ROLE_ARN }}",
            "{name}"
        );
        assert!(
            credentials["with"]["aws-access-key-id"].is_null(),
            "{name}: no stored keys"
        );
    }
}

#[test]
fn deploy_and_rollback_share_one_concurrency_group_that_never_cancels() {
    let deploy = workflow("deploy.yml");
    let rollback = workflow("rollback.yml");
    let group = deploy["concurrency"]["group"].as_str().unwrap();
    assert!(
        !group.contains("${{"),
        "the group must be the same for every run: {group}"
    );
    assert_eq!(rollback["concurrency"]["group"], group);
    for workflow in [&deploy, &rollback] {
        assert_eq!(workflow["concurrency"]["cancel-in-progress"], false);
        assert!(only_job(workflow)["concurrency"].is_null());
    }
    assert_eq!(
        only_job(&deploy)["environment"],
        only_job(&rollback)["environment"]
    );
}

#[test]
fn no_expression_reaches_a_run_script() {
    for name in ["ci.yml", "deploy.yml", "rollback.yml"] {
        for script in run_scripts(&workflow(name)) {
            assert!(
                !script.contains("${{"),
                "{name}: pass values through env:, not into the script: {script}"
            );
        }
    }
    let rollback = workflow("rollback.yml");
    let input = &rollback["on"]["workflow_dispatch"]["inputs"]["version"];
    assert_eq!(input["required"], true);
    let job = only_job(&rollback);
    let uses_input: Vec<&Value> = steps(job)
        .iter()
        .filter(|s| {
            serde_yaml_ng::to_string(s)
                .unwrap()
                .contains("inputs.version")
        })
        .collect();
    assert_eq!(uses_input.len(), 2, "the check and the rollback");
    for step in uses_input {
        assert_eq!(step["env"]["VERSION"], "${{ inputs.version }}");
    }
    assert!(run_scripts(&rollback).contains(&"cargo xtask rollback --to \"$VERSION\""));
}

/// Runs the rollback's check step as GitHub would (bash -e) with VERSION set.
fn version_check_accepts(version: &str) -> bool {
    let rollback = workflow("rollback.yml");
    let check = &steps(only_job(&rollback))[0];
    assert!(
        check["uses"].is_null(),
        "the check runs before anything else"
    );
    Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c"])
        .arg(check["run"].as_str().unwrap())
        .env("VERSION", version)
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn the_rollback_version_must_be_a_positive_integer() {
    for good in ["1", "42", "1234567890"] {
        assert!(version_check_accepts(good), "{good}");
    }
    for bad in [
        "",
        "0",
        "-1",
        "01",
        "1.5",
        "1 2",
        "1;id",
        "$(id)",
        "1\n2",
        "12345678901",
    ] {
        assert!(!version_check_accepts(bad), "{bad:?}");
    }
}

#[test]
fn deploy_runs_the_deploy_verb_on_main() {
    let deploy = workflow("deploy.yml");
    assert_eq!(deploy["on"]["push"]["branches"][0], "main");
    assert!(run_scripts(&deploy).contains(&"cargo xtask deploy"));
}
