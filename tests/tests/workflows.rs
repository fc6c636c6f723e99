//! The GitHub workflows' safety properties, read from their YAML: OIDC credentials in an
//! environment; concurrency that never cancels a running AWS job and never lets a push replace a
//! queued rollback; deploy only for a commit whose ci passed; everything compiled (`--locked`)
//! before credentials exist; xtask as the step's process, so a cancel reaches it; Node 24 actions
//! pinned by commit; no input spliced into a shell script.
use std::{path::Path, process::Command};

use clap::Parser;
use serde_yaml_ng::Value;
use xtask::{
    flags::Cli,
    pipeline::deploy::{Outcome, Report},
    setup,
};

/// The workflows that hold AWS credentials.
const AWS_WORKFLOWS: [&str; 4] = ["deploy.yml", "rollback.yml", "unpin.yml", "promote.yml"];
const ALL_WORKFLOWS: [&str; 5] = [
    "ci.yml",
    "deploy.yml",
    "rollback.yml",
    "unpin.yml",
    "promote.yml",
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

/// The single job of a workflow that holds AWS credentials.
fn only_job(workflow: &Value) -> &Value {
    let jobs = workflow["jobs"].as_mapping().unwrap();
    assert_eq!(jobs.len(), 1, "one job, so its concurrency covers it all");
    jobs.values().next().unwrap()
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

/// The index of the step that configures AWS credentials.
fn credentials_step(name: &str, job: &Value) -> usize {
    steps(job)
        .iter()
        .position(|s| uses(s, "aws-actions/configure-aws-credentials"))
        .unwrap_or_else(|| panic!("{name}: no configure-aws-credentials step"))
}

/// The step running xtask with the credentials (the last one that runs it).
fn xtask_step<'w>(name: &str, job: &'w Value) -> &'w Value {
    steps(job)
        .iter()
        .rfind(|s| s["run"].as_str().is_some_and(|r| r.contains("xtask ")))
        .unwrap_or_else(|| panic!("{name}: no step runs xtask"))
}

#[test]
fn aws_jobs_assume_the_role_through_oidc_in_the_production_environment() {
    for name in AWS_WORKFLOWS {
        let workflow = workflow(name);
        assert_eq!(workflow["permissions"]["contents"], "read", "{name}");
        assert!(
            workflow["permissions"]["id-token"].is_null(),
            "{name}: id-token only on the job"
        );
        let job = only_job(&workflow);
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
        // The approval gate's promotion waits in an environment of its own, with reviewers.
        let wanted = if name == "promote.yml" {
            "production-approval"
        } else {
            "production"
        };
        assert_eq!(environment, wanted, "{name}: its protection rules");
        let credentials = &steps(job)[credentials_step(name, job)];
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
        assert!(only_job(&workflow)["concurrency"].is_null(), "{name}");
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
    let job = only_job(&deploy);
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
    let dockerfile = std::fs::read_to_string(setup::workspace_root().join("Dockerfile")).unwrap();
    let builds: Vec<&str> = dockerfile
        .lines()
        .filter(|l| l.contains("cargo build") || l.contains("cargo zigbuild"))
        .collect();
    assert!(!builds.is_empty());
    for line in builds {
        assert!(line.contains("--locked"), "Dockerfile: {line}");
    }
}

/// With credentials in the environment, a build script or proc macro of any dependency could
/// use the deploy role: the job compiles everything first.
#[test]
fn aws_jobs_compile_before_credentials_exist_and_cache_cargo() {
    for name in AWS_WORKFLOWS {
        let workflow = workflow(name);
        let job = only_job(&workflow);
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
        let cache = before.iter().position(|s| uses(s, "actions/cache"));
        let build = before.iter().position(|s| {
            s["run"]
                .as_str()
                .is_some_and(|r| r.contains("cargo --locked build"))
        });
        assert!(cache.is_some() && cache < build, "{name}: a cargo cache");
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
                ["deploy ", "rollback ", "unpin", "promote "]
                    .iter()
                    .any(|v| verb.starts_with(v)),
                "{name}: {command}"
            );
        }
    }
    let deploy = workflow("deploy.yml");
    let job = only_job(&deploy);
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
        let job = only_job(&workflow);
        let step = xtask_step(name, job);
        let script = step["run"].as_str().unwrap();
        let last = commands(script).pop().unwrap();
        assert!(last.starts_with("exec cargo "), "{name}: {last}");
        let step_minutes = step["timeout-minutes"].as_u64().unwrap();
        assert!(
            step_minutes * 60 > xtask_timeout_s,
            "{name}: the step's {step_minutes} min must cover xtask's own --timeout ({xtask_timeout_s} s) and its cleanup"
        );
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

/// Runs one step's script as GitHub would (bash -e) with `env` set.
fn run_step(step: &Value, env: &[(&str, &str)], path: Option<&Path>) -> std::process::Output {
    let mut command = Command::new("bash");
    command
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c"])
        .arg(step["run"].as_str().unwrap())
        .envs(env.iter().copied());
    if let Some(dir) = path {
        let inherited = std::env::var("PATH").unwrap();
        command.env("PATH", format!("{}:{inherited}", dir.display()));
    }
    command.output().unwrap()
}

/// A scratch directory under the target dir, fresh for `name`.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = setup::target_dir().join("tests-workflows").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_deploy_environment_links_to_the_green_url_of_the_deploys_json() {
    let deploy = workflow("deploy.yml");
    let job = only_job(&deploy);
    let output = "${{ steps.green.outputs.green_url }}";
    assert_eq!(job["environment"]["url"], output);
    assert_eq!(job["outputs"]["green_url"], output);
    let deploy_step = xtask_step("deploy.yml", job)["run"].as_str().unwrap();
    assert!(deploy_step.ends_with("--json > \"$RUNNER_TEMP/deploy.json\""));
    let green = steps(job).iter().find(|s| s["id"] == "green").unwrap();

    // The report deploy prints with --json, as deploy builds it.
    let url = "https://a1b2c3.execute-api.us-east-1.amazonaws.com/green";
    let report = Report {
        outcome: Outcome::Deployed,
        function: "bgd".into(),
        version: Some(7),
        previous: Some(6),
        git_sha: "0123abc".into(),
        digest: "sha256:00".into(),
        green_url: Some(url.into()),
        blue_url: None,
        phases: Vec::new(),
        plan: Vec::new(),
        held: None,
        write_calls: 9,
        rollout: None,
    };
    let dir = scratch("green-url");
    std::fs::write(
        dir.join("deploy.json"),
        serde_json::to_string(&report).unwrap(),
    )
    .unwrap();
    let outputs = dir.join("outputs");
    let ran = run_step(
        green,
        &[
            ("RUNNER_TEMP", dir.to_str().unwrap()),
            ("GITHUB_OUTPUT", outputs.to_str().unwrap()),
        ],
        None,
    );
    assert!(ran.status.success(), "{ran:?}");
    assert_eq!(
        std::fs::read_to_string(outputs).unwrap(),
        format!("green_url={url}\n")
    );
}

#[test]
fn no_expression_reaches_a_run_script() {
    for name in ALL_WORKFLOWS {
        for script in run_scripts(&workflow(name)) {
            assert!(
                !script.contains("${{"),
                "{name}: pass values through env:, not into the script: {script}"
            );
        }
    }
    let rollback = workflow("rollback.yml");
    let inputs = &rollback["on"]["workflow_dispatch"]["inputs"];
    assert_eq!(inputs["version"]["required"], true);
    assert_eq!(inputs["break_lock"]["type"], "boolean");
    let job = only_job(&rollback);
    let uses_inputs: Vec<&Value> = steps(job)
        .iter()
        .filter(|s| serde_yaml_ng::to_string(s).unwrap().contains("inputs."))
        .collect();
    assert_eq!(uses_inputs.len(), 2, "the check and the rollback");
    for step in uses_inputs {
        assert_eq!(step["env"]["VERSION"], "${{ inputs.version }}");
        assert_eq!(step["env"]["BREAK_LOCK"], "${{ inputs.break_lock }}");
    }
}

/// Runs the rollback's check step with the two inputs.
fn inputs_check_accepts(version: &str, break_lock: &str) -> bool {
    let rollback = workflow("rollback.yml");
    let check = &steps(only_job(&rollback))[0];
    assert!(
        check["uses"].is_null(),
        "the check runs before anything else"
    );
    let env = [("VERSION", version), ("BREAK_LOCK", break_lock)];
    run_step(check, &env, None).status.success()
}

#[test]
fn the_rollback_inputs_are_a_positive_integer_and_a_boolean() {
    for good in ["1", "42", "1234567890"] {
        assert!(inputs_check_accepts(good, "false"), "{good}");
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
        assert!(!inputs_check_accepts(bad, "false"), "{bad:?}");
    }
    assert!(inputs_check_accepts("3", "true"));
    for bad in ["", "yes", "True", "true;id", "--break-lock"] {
        assert!(!inputs_check_accepts("3", bad), "{bad:?}");
    }
}

/// Runs a step whose script ends in `exec cargo ...` with a `cargo` on PATH that prints its
/// arguments, one a line.
fn cargo_args_of(step: &Value, env: &[(&str, &str)], name: &str) -> Vec<String> {
    let dir = scratch(name);
    let cargo = dir.join("cargo");
    std::fs::write(&cargo, "#!/bin/sh\nprintf '%s\\n' \"$@\"\n").unwrap();
    let status = Command::new("chmod")
        .arg("+x")
        .arg(&cargo)
        .status()
        .unwrap();
    assert!(status.success());
    let ran = run_step(step, env, Some(&dir));
    assert!(ran.status.success(), "{ran:?}");
    String::from_utf8(ran.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn the_rollback_passes_break_lock_only_when_asked() {
    let rollback = workflow("rollback.yml");
    let step = xtask_step("rollback.yml", only_job(&rollback));
    let plain = cargo_args_of(step, &[("VERSION", "7"), ("BREAK_LOCK", "false")], "plain");
    assert_eq!(plain, ["--locked", "xtask", "rollback", "--to", "7"]);
    let broken = cargo_args_of(step, &[("VERSION", "7"), ("BREAK_LOCK", "true")], "broken");
    assert_eq!(
        broken,
        ["--locked", "xtask", "rollback", "--to", "7", "--break-lock"]
    );
}

#[test]
fn unpin_is_a_dispatch_of_its_own() {
    let unpin = workflow("unpin.yml");
    assert!(
        unpin["on"]
            .as_mapping()
            .unwrap()
            .contains_key("workflow_dispatch")
    );
    let step = xtask_step("unpin.yml", only_job(&unpin));
    assert_eq!(
        cargo_args_of(step, &[], "unpin"),
        ["--locked", "xtask", "unpin"]
    );
}

#[test]
fn the_approval_gate_holds_the_deploy_and_promotes_after_a_reviewer_in_its_own_environment() {
    let deploy = workflow("deploy.yml");
    let step = xtask_step("deploy.yml", only_job(&deploy));
    assert_eq!(
        step["env"]["BGD_HOLD"], "${{ vars.BGD_APPROVAL_GATE == 'true' }}",
        "the gate is a repository variable"
    );
    // The variable reaches the flag: deploy holds with BGD_HOLD=true, promotes without it.
    let held = |value: &str| {
        // SAFETY: tests in this binary never read BGD_HOLD concurrently with this one.
        unsafe { std::env::set_var("BGD_HOLD", value) };
        let cli = Cli::try_parse_from(["cargo xtask", "deploy"]).unwrap();
        unsafe { std::env::remove_var("BGD_HOLD") };
        match cli.verb {
            xtask::flags::Verb::Deploy(deploy) => deploy.hold,
            _ => unreachable!(),
        }
    };
    assert!(held("true"));
    assert!(!held("false"));

    let promote = workflow("promote.yml");
    assert_eq!(
        promote["on"]["workflow_run"]["workflows"][0],
        deploy["name"]
    );
    let job = only_job(&promote);
    let condition = job["if"].as_str().unwrap();
    assert!(
        condition.contains("conclusion == 'success'")
            && condition.contains("vars.BGD_APPROVAL_GATE == 'true'")
    );
    let run = xtask_step("promote.yml", job)["run"].as_str().unwrap();
    assert!(
        run.starts_with("exec cargo --locked xtask promote --json"),
        "{run}"
    );
}
