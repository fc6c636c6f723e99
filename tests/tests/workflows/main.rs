//! The GitHub workflows' safety properties, read from their YAML: OIDC credentials in an
//! environment; concurrency that never cancels a running AWS job and never lets a push replace a
//! queued rollback; deploy only for a commit whose ci passed; everything compiled (`--locked`)
//! before credentials exist; xtask as the step's process, so a cancel reaches it; Node 24 actions
//! pinned by commit; no input spliced into a shell script; CI's tools pinned by hash; staging
//! and production each with roles of their own, production behind its approval.
mod environments;
mod properties;
mod rollout;
mod scripts;
mod tools;

use bgd_core::setup;
use serde_yaml_ng::Value;

/// The workflows that hold AWS credentials.
const AWS_WORKFLOWS: [&str; 6] = [
    "deploy.yml",
    "rollback.yml",
    "unpin.yml",
    "promote.yml",
    "rollout.yml",
    "environments.yml",
];
const ALL_WORKFLOWS: [&str; 7] = [
    "ci.yml",
    "deploy.yml",
    "rollback.yml",
    "unpin.yml",
    "promote.yml",
    "rollout.yml",
    "environments.yml",
];

fn workflows_dir() -> std::path::PathBuf {
    setup::workspace_root().join(".github/workflows")
}

fn text(name: &str) -> String {
    std::fs::read_to_string(workflows_dir().join(name)).unwrap()
}

fn workflow(name: &str) -> Value {
    serde_yaml_ng::from_str(&text(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The jobs of a workflow that run xtask with AWS credentials, given an OIDC token, by name
/// (environments.yml has one per environment). Another job with a token (rollout's look at
/// green's record) runs no cargo, only the AWS CLI, in an environment of theirs; any other job
/// (promote's look at the deploy run, the plan read from deploy.toml) gets no token, no
/// environment and no concurrency of its own: the workflow's group covers them all.
fn aws_jobs(workflow: &Value) -> Vec<(&str, &Value)> {
    let jobs = workflow["jobs"].as_mapping().unwrap();
    let (aws, others): (Vec<_>, Vec<_>) = jobs
        .iter()
        .map(|(name, job)| (name.as_str().unwrap(), job))
        .partition(|(_, job)| job["permissions"]["id-token"] == "write");
    let runs_cargo = |job: &Value| {
        steps(job)
            .iter()
            .filter_map(|s| s["run"].as_str())
            .any(|r| r.contains("cargo"))
    };
    let (xtask, readers): (Vec<_>, Vec<_>) = aws.into_iter().partition(|(_, job)| runs_cargo(job));
    assert!(!xtask.is_empty(), "a job runs xtask with a role");
    for (_, job) in readers {
        assert!(
            xtask
                .iter()
                .any(|(_, x)| job["environment"] == x["environment"])
        );
        assert!(job["concurrency"].is_null());
    }
    for (_, job) in others {
        assert!(job["environment"].is_null() && job["concurrency"].is_null());
    }
    xtask
}

/// The one job of a workflow that runs xtask with the deploy role.
fn aws_job(workflow: &Value) -> &Value {
    match aws_jobs(workflow).as_slice() {
        [(_, job)] => job,
        jobs => panic!(
            "one job runs xtask with the deploy role, not {}",
            jobs.len()
        ),
    }
}

fn steps(job: &Value) -> &[Value] {
    job["steps"].as_sequence().unwrap()
}

fn uses(step: &Value, action: &str) -> bool {
    step["uses"]
        .as_str()
        .is_some_and(|u| u.starts_with(&format!("{action}@")))
}

fn run_scripts(workflow: &Value) -> Vec<&str> {
    let jobs = workflow["jobs"].as_mapping().unwrap();
    jobs.values()
        .flat_map(|job| steps(job).iter())
        .filter_map(|step| step["run"].as_str())
        .collect()
}

/// The shell commands of a script: split at line ends, `&&`, `||` and `;`.
fn commands(script: &str) -> Vec<&str> {
    script
        .split(['\n', ';'])
        .flat_map(|line| line.split("&&"))
        .flat_map(|part| part.split("||"))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

/// The index of the (first) step that configures AWS credentials.
fn credentials_step(name: &str, job: &Value) -> usize {
    steps(job)
        .iter()
        .position(|s| uses(s, "aws-actions/configure-aws-credentials"))
        .unwrap_or_else(|| panic!("{name}: no configure-aws-credentials step"))
}

/// Every step of a job that configures AWS credentials.
fn credentials_steps(job: &Value) -> Vec<&Value> {
    steps(job)
        .iter()
        .filter(|s| uses(s, "aws-actions/configure-aws-credentials"))
        .collect()
}

/// The step running xtask with the credentials (the last one that runs it).
fn xtask_step<'w>(name: &str, job: &'w Value) -> &'w Value {
    steps(job)
        .iter()
        .rfind(|s| s["run"].as_str().is_some_and(|r| r.contains("xtask ")))
        .unwrap_or_else(|| panic!("{name}: no step runs xtask"))
}
