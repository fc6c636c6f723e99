//! What the YAML says: credentials, concurrency, triggers, `--locked`, the order of compiling
//! and credentials, how xtask runs, the actions' Node 24 pins.
use clap::Parser;
use xtask::flags::Cli;

use super::*;

#[test]
fn aws_jobs_assume_the_role_through_oidc_in_the_production_environment() {
    for name in AWS_WORKFLOWS {
        let workflow = workflow(name);
        assert_eq!(workflow["permissions"]["contents"], "read", "{name}");
        assert!(
            workflow["permissions"]["id-token"].is_null(),
            "{name}: id-token only on the job"
        );
        for (job_name, job) in aws_jobs(&workflow) {
            let permissions = job["permissions"].as_mapping().unwrap();
            for (scope, access) in permissions {
                let wanted = if scope == "id-token" { "write" } else { "read" };
                assert_eq!(access, wanted, "{name}: {scope:?}");
            }
            assert_eq!(job["permissions"]["id-token"], "write", "{name}");
            let environment = match &job["environment"] {
                Value::Mapping(m) => &m["name"],
                other => other,
            };
            // The approval gate's promotion waits in an environment of its own, with
            // reviewers; environments.yml's jobs each in their environment's.
            let wanted = match name {
                "promote.yml" => "production-approval",
                "environments.yml" => job_name,
                _ => "production",
            };
            assert_eq!(environment, wanted, "{name}: its protection rules");
            for credentials in credentials_steps(job) {
                let role = credentials["with"]["role-to-assume"].as_str().unwrap();
                if name != "environments.yml" {
                    assert_eq!(role, "${{ vars.AWS_DEPLOY_ROLE_ARN }}", "{name}");
                }
                assert!(
                    role.starts_with("${{ vars.AWS_") && role.ends_with("_ROLE_ARN }}"),
                    "{name}: the role from a variable: {role}"
                );
                assert!(
                    credentials["with"]["aws-access-key-id"].is_null(),
                    "{name}: no stored keys"
                );
            }
        }
    }
}

/// GitHub keeps one pending run per concurrency group and cancels the older pending one: in a
/// group shared with deploy, a push would replace a queued rollback.
#[test]
fn no_push_can_replace_a_queued_rollback_and_no_aws_run_is_cancelled() {
    let mut groups = Vec::new();
    for name in AWS_WORKFLOWS {
        let workflow = workflow(name);
        let group = workflow["concurrency"]["group"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            !group.contains("${{"),
            "{name}: the group must be the same for every run: {group}"
        );
        assert_eq!(
            workflow["concurrency"]["cancel-in-progress"], false,
            "{name}"
        );
        for (_, job) in aws_jobs(&workflow) {
            assert!(job["concurrency"].is_null(), "{name}");
        }
        assert!(
            !groups.contains(&group),
            "{name} shares the group {group}: a pending run there replaces the other's"
        );
        groups.push(group);
    }
}

#[test]
fn deploy_ships_only_a_push_to_main_whose_ci_passed() {
    let deploy = workflow("deploy.yml");
    let on = &deploy["on"];
    assert_eq!(
        on.as_mapping().unwrap().len(),
        1,
        "workflow_run only: {on:?}"
    );
    let ci_name = workflow("ci.yml")["name"].clone();
    assert_eq!(on["workflow_run"]["workflows"][0], ci_name);
    assert_eq!(on["workflow_run"]["types"][0], "completed");
    assert_eq!(on["workflow_run"]["branches"][0], "main");
    let job = aws_job(&deploy);
    let condition = job["if"].as_str().unwrap();
    assert!(condition.contains("github.event.workflow_run.conclusion == 'success'"));
    assert!(condition.contains("github.event.workflow_run.event == 'push'"));
    let checkout = steps(job)
        .iter()
        .find(|s| uses(s, "actions/checkout"))
        .unwrap();
    assert_eq!(
        checkout["with"]["ref"], "${{ github.event.workflow_run.head_sha }}",
        "the commit ci tested, not whatever main is now"
    );
}

#[test]
fn every_cargo_command_uses_the_committed_lock() {
    for name in ALL_WORKFLOWS {
        for script in run_scripts(&workflow(name)) {
            for command in commands(script) {
                let command = command.strip_prefix("exec ").unwrap_or(command);
                let words: Vec<&str> = command.split_whitespace().collect();
                if words.first() == Some(&"cargo") {
                    assert!(
                        words.contains(&"--locked"),
                        "{name}: `{command}` may rewrite Cargo.lock: add --locked"
                    );
                }
            }
        }
    }
    // What ci.yml runs, `.ci/run`, first fails on a stale lock (`cargo fetch --locked`, before
    // any other cargo command), so the README's plain `cargo xtask test` after it builds the
    // committed lock (security-audit-3, weak test 7: .ci/run was not checked).
    let ci = std::fs::read_to_string(setup::workspace_root().join(".ci/run")).unwrap();
    let first_cargo = ci.lines().map(str::trim).find(|l| l.starts_with("cargo "));
    assert_eq!(first_cargo, Some("cargo fetch --locked"), ".ci/run");
    // The Dockerfile's builds, and the image build's own nested `cargo zigbuild` (which a local
    // `cargo xtask deploy` runs outside any workflow).
    for file in ["Dockerfile", "xtask/core/src/image/native.rs"] {
        let text = std::fs::read_to_string(setup::workspace_root().join(file)).unwrap();
        let builds: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("cargo build") || l.contains("cargo zigbuild --"))
            .collect();
        assert!(!builds.is_empty(), "{file}");
        for line in builds {
            assert!(line.contains("--locked"), "{file}: {line}");
        }
    }
}

/// With credentials in the environment, a build script or proc macro of any dependency could
/// use the deploy role: the job compiles everything first, and from the locked sources alone:
/// it restores no cache, which any other job of the repository (ci.yml, running PyPI packages)
/// could have saved (security-audit-3 N3; before, they restored ci.yml's cargo cache).
#[test]
fn aws_jobs_compile_before_credentials_exist_and_restore_no_cache() {
    for name in AWS_WORKFLOWS {
        let workflow = workflow(name);
        for (_, job) in aws_jobs(&workflow) {
            let credentials = credentials_step(name, job);
            let (before, after) = steps(job).split_at(credentials);
            let built: Vec<&str> = before
                .iter()
                .filter_map(|s| s["run"].as_str())
                .flat_map(commands)
                .collect();
            assert!(
                built.contains(&"cargo --locked build --package xtask"),
                "{name}: xtask is built before the credentials: {built:?}"
            );
            assert!(
                !steps(job).iter().any(|s| uses(s, "actions/cache")),
                "{name}: a job with AWS credentials restores no cache"
            );
            // After the credentials, cargo only runs the xtask already built.
            for command in after
                .iter()
                .filter_map(|s| s["run"].as_str())
                .flat_map(commands)
                .filter(|c| c.contains("cargo"))
            {
                let verb = command
                    .strip_prefix("exec cargo --locked xtask ")
                    .unwrap_or_else(|| panic!("{name}: `{command}` after the credentials"));
                assert!(
                    ["deploy ", "rollback ", "unpin", "promote ", "resume "]
                        .iter()
                        .any(|v| verb.starts_with(v)),
                    "{name}: {command}"
                );
            }
        }
    }
    let deploy = workflow("deploy.yml");
    let job = aws_job(&deploy);
    let (before, _) = steps(job).split_at(credentials_step("deploy.yml", job));
    assert!(
        before
            .iter()
            .filter_map(|s| s["run"].as_str())
            .flat_map(commands)
            .any(|c| c == "cargo --locked xtask build"),
        "the image is built before the credentials"
    );
    let run = xtask_step("deploy.yml", job)["run"].as_str().unwrap();
    assert!(run.contains("deploy --image target/image"), "{run}");
}

/// GitHub signals the step's process when a run is cancelled or times out: with `exec` that is
/// xtask (cargo run replaces itself with the binary), which then cleans up as on Ctrl-C; a bash
/// between them would take the signal and leave xtask to the final SIGKILL.
#[test]
fn aws_steps_run_xtask_as_the_steps_own_process_within_bounds() {
    let xtask_timeout_s = Cli::try_parse_from(["cargo xtask", "status"])
        .unwrap()
        .global
        .timeout;
    for name in AWS_WORKFLOWS {
        let workflow = workflow(name);
        for (_, job) in aws_jobs(&workflow) {
            let step = xtask_step(name, job);
            let script = step["run"].as_str().unwrap();
            let last = commands(script).pop().unwrap();
            assert!(last.starts_with("exec cargo "), "{name}: {last}");
            let step_minutes = step["timeout-minutes"].as_u64().unwrap();
            assert!(
                step_minutes * 60 > xtask_timeout_s,
                "{name}: the step's {step_minutes} min must cover xtask's own --timeout ({xtask_timeout_s} s) and its cleanup"
            );
            // Each OIDC session (configure-aws-credentials' role-duration-seconds, 1 hour unless
            // set) must outlast the step: past it a rollout's revert fails on ExpiredToken.
            for credentials in credentials_steps(job) {
                let session_s = credentials["with"]["role-duration-seconds"]
                    .as_u64()
                    .unwrap_or(3600);
                assert!(
                    session_s > step_minutes * 60,
                    "{name}: the role's session ({session_s} s) must outlast the xtask step ({step_minutes} min)"
                );
            }
            let bounded: u64 = steps(job)
                .iter()
                .filter_map(|s| s["timeout-minutes"].as_u64())
                .sum();
            let job_minutes = job["timeout-minutes"].as_u64().unwrap();
            assert!(
                job_minutes > bounded,
                "{name}: the job's {job_minutes} min must cover its bounded steps ({bounded} min) and set-up"
            );
        }
    }
}

/// Actions' majors that run on Node 20 (removed from GitHub's runners on 2026-09-16), checked
/// against each action's `action.yml` (`runs.using`): checkout v4.4.0 and cache v4.3.0 are
/// node20, v5.0.0 of each node24; configure-aws-credentials v5.1.0 is node20, v6.0.0 node24.
const FIRST_NODE24_MAJOR: [(&str, u32); 3] = [
    ("actions/checkout", 5),
    ("actions/cache", 5),
    ("aws-actions/configure-aws-credentials", 6),
];

#[test]
fn actions_are_node24_majors_pinned_by_commit_with_their_version() {
    for name in ALL_WORKFLOWS {
        for line in text(name).lines().filter(|l| l.contains("uses:")) {
            let reference = line.split("uses:").nth(1).unwrap().trim();
            let (pinned, version) = reference
                .split_once(" # v")
                .unwrap_or_else(|| panic!("{name}: `{line}`: add the version as `# vX.Y.Z`"));
            let (action, sha) = pinned.split_once('@').unwrap();
            assert!(
                sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
                "{name}: {action} must be pinned by its full commit sha, not {sha}"
            );
            let major: u32 = version.split('.').next().unwrap().parse().unwrap();
            let first = FIRST_NODE24_MAJOR
                .iter()
                .find(|(a, _)| *a == action)
                .unwrap_or_else(|| {
                    panic!("{name}: {action}: add its first Node 24 major to FIRST_NODE24_MAJOR")
                })
                .1;
            assert!(
                major >= first,
                "{name}: {action} v{version} runs on Node 20: use v{first} or later"
            );
        }
    }
}

/// The dispatched workflows run only on main: dispatched from another branch they would run
/// that branch's code with production credentials (security-audit-3 N14).
#[test]
fn dispatched_aws_workflows_run_only_on_main() {
    for name in ["rollback.yml", "unpin.yml"] {
        let workflow = workflow(name);
        let job = aws_job(&workflow);
        assert_eq!(
            job["if"].as_str(),
            Some("github.ref == 'refs/heads/main'"),
            "{name}"
        );
    }
}
