//! What the run scripts do when run: the green URL output, the inputs' checks, the flags they
//! pass; and that no expression is spliced into one.
use std::{path::Path, process::Command};

use bgd_core::pipeline::deploy::{Outcome, Report};
use clap::Parser;
use xtask::flags::Cli;

use super::*;

/// Runs one step's script as GitHub would (bash -e, in the checkout) with `env` set.
pub(super) fn run_step(
    step: &Value,
    env: &[(&str, &str)],
    path: Option<&Path>,
) -> std::process::Output {
    let mut command = Command::new("bash");
    command
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c"])
        .arg(step["run"].as_str().unwrap())
        .current_dir(setup::workspace_root())
        .envs(env.iter().copied());
    if let Some(dir) = path {
        let inherited = std::env::var("PATH").unwrap();
        command.env("PATH", format!("{}:{inherited}", dir.display()));
    }
    command.output().unwrap()
}

/// A scratch directory under the target dir, fresh for `name`.
pub(super) fn scratch(name: &str) -> std::path::PathBuf {
    let dir = setup::target_dir().join("tests-workflows").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The report deploy prints with --json, as deploy builds it.
pub(super) fn deploy_json(green_url: Option<&str>) -> String {
    let report = Report {
        outcome: Outcome::Deployed,
        function: "bgd".into(),
        version: Some(7),
        previous: Some(6),
        git_sha: "0123abc".into(),
        digest: "sha256:00".into(),
        green_url: green_url.map(String::from),
        blue_url: None,
        phases: Vec::new(),
        plan: Vec::new(),
        held: None,
        write_calls: 9,
        rollout: None,
        origin: None,
        same_image: None,
    };
    serde_json::to_string(&report).unwrap()
}

#[test]
fn the_deploy_environment_links_to_the_green_url_of_the_deploys_json() {
    let deploy = workflow("deploy.yml");
    let job = aws_job(&deploy);
    let output = "${{ steps.green.outputs.green_url }}";
    assert_eq!(job["environment"]["url"], output);
    assert_eq!(job["outputs"]["green_url"], output);
    let deploy_step = xtask_step("deploy.yml", job)["run"].as_str().unwrap();
    assert!(deploy_step.ends_with("--json > \"$RUNNER_TEMP/deploy.json\""));
    let green = steps(job).iter().find(|s| s["id"] == "green").unwrap();

    let url = "https://a1b2c3.execute-api.us-east-1.amazonaws.com/green";
    let dir = scratch("green-url");
    std::fs::write(dir.join("deploy.json"), deploy_json(Some(url))).unwrap();
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
        format!("green_url={url}\nheld=\n")
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
    let job = aws_job(&rollback);
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
    let check = &steps(aws_job(&rollback))[0];
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

/// A scratch directory for `name` holding `tool`, a shell script running `body`: put first on
/// a step's PATH, it stands in for the real tool.
pub(super) fn fake_tool(name: &str, tool: &str, body: &str) -> std::path::PathBuf {
    let dir = scratch(name);
    let path = dir.join(tool);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    let status = Command::new("chmod").arg("+x").arg(&path).status().unwrap();
    assert!(status.success());
    dir
}

/// Runs a step whose script ends in `exec cargo ...` with a `cargo` on PATH that prints its
/// arguments, one a line.
fn cargo_args_of(step: &Value, env: &[(&str, &str)], name: &str) -> Vec<String> {
    let dir = fake_tool(name, "cargo", "printf '%s\\n' \"$@\"");
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
    let step = xtask_step("rollback.yml", aws_job(&rollback));
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
    let step = xtask_step("unpin.yml", aws_job(&unpin));
    assert_eq!(
        cargo_args_of(step, &[], "unpin"),
        ["--locked", "xtask", "unpin"]
    );
}

#[test]
fn the_approval_gate_holds_the_deploy_and_promotes_after_a_reviewer_in_its_own_environment() {
    let deploy = workflow("deploy.yml");
    let step = xtask_step("deploy.yml", aws_job(&deploy));
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
    let condition = promote["jobs"]["held"]["if"].as_str().unwrap();
    assert!(
        condition.contains("conclusion == 'success'")
            && condition.contains("vars.BGD_APPROVAL_GATE == 'true'")
    );
    let run = xtask_step("promote.yml", aws_job(&promote))["run"]
        .as_str()
        .unwrap();
    assert!(
        run.starts_with("exec cargo --locked xtask promote --hand-off --json"),
        "{run}"
    );
}

/// Promote runs the commit the deploy run shipped: deploy.yml names it in its run's title, and
/// promote checks out what its first step reads there. It checked out the deploy run's own
/// head_sha, main's head when deploy was triggered, maybe a newer commit (aws-audit-3 N14).
#[test]
fn promote_checks_out_the_commit_the_deploy_run_shipped() {
    assert_eq!(
        workflow("deploy.yml")["run-name"],
        "deploy ${{ github.event.workflow_run.head_sha }}"
    );
    let promote = workflow("promote.yml");
    let job = aws_job(&promote);
    let deployed = steps(job).iter().find(|s| s["id"] == "deployed").unwrap();
    assert_eq!(
        deployed["env"]["TITLE"],
        "${{ github.event.workflow_run.display_title }}"
    );
    let checkout = steps(job)
        .iter()
        .find(|s| uses(s, "actions/checkout"))
        .unwrap();
    assert_eq!(checkout["with"]["ref"], "${{ steps.deployed.outputs.sha }}");
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let dir = scratch("deployed-commit");
    let outputs = dir.join("outputs");
    let read = |title: &str| {
        let _ = std::fs::remove_file(&outputs);
        let ran = run_step(
            deployed,
            &[
                ("TITLE", title),
                ("GITHUB_OUTPUT", outputs.to_str().unwrap()),
            ],
            None,
        );
        ran.status
            .success()
            .then(|| std::fs::read_to_string(&outputs).unwrap())
    };
    assert_eq!(read(&format!("deploy {sha}")), Some(format!("sha={sha}\n")));
    for title in [
        "deploy",
        "deploy main",
        &format!("deploy {sha}\nx=y"),
        "Merge pull request #7",
    ] {
        assert_eq!(read(title), None, "{title:?}");
    }
}

/// Promote asks for a reviewer only after a deploy that held: deploy.yml's `Held` step runs
/// when its report names a held version, and promote's first job reads that step's conclusion
/// from the deploy run. A deploy that found its build already deployed holds nothing, and
/// promote went on to ask for an approval and fail with "no deploy is held" (aws-audit-3 N14).
#[test]
fn promote_does_nothing_after_a_deploy_that_held_nothing() {
    let deploy = workflow("deploy.yml");
    let job = aws_job(&deploy);
    let green = steps(job).iter().find(|s| s["id"] == "green").unwrap();
    let dir = scratch("held");
    let outputs = dir.join("outputs");
    let held_of = |report: serde_json::Value| {
        std::fs::write(dir.join("deploy.json"), report.to_string()).unwrap();
        let _ = std::fs::remove_file(&outputs);
        let env = [
            ("RUNNER_TEMP", dir.to_str().unwrap()),
            ("GITHUB_OUTPUT", outputs.to_str().unwrap()),
        ];
        assert!(run_step(green, &env, None).status.success());
        let written = std::fs::read_to_string(&outputs).unwrap();
        written
            .lines()
            .find_map(|l| l.strip_prefix("held="))
            .unwrap()
            .to_owned()
    };
    assert_eq!(held_of(serde_json::json!({ "held": 7 })), "7");
    assert_eq!(held_of(serde_json::json!({ "held": null })), "");
    let held_step = steps(job).iter().find(|s| s["name"] == "Held").unwrap();
    assert_eq!(held_step["if"], "steps.green.outputs.held != ''");

    let promote = workflow("promote.yml");
    let promote_job = aws_job(&promote);
    assert_eq!(promote_job["needs"], "held");
    assert_eq!(promote_job["if"], "needs.held.outputs.held == 'true'");
    let read = &steps(&promote["jobs"]["held"])[0];
    // `gh api RUN --jq FILTER`, answered from the deploy run's jobs as GitHub lists them.
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let gh = bin.join("gh");
    std::fs::write(
        &gh,
        "#!/bin/bash\n[[ $1 == api && $3 == --jq ]] && jq -r \"$4\" \"$JOBS\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&gh, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let summary = dir.join("summary");
    let promoted = |held_conclusion: &str| {
        let jobs = serde_json::json!({ "jobs": [{ "name": "deploy", "steps": [
            { "name": "Deploy", "conclusion": "success" },
            { "name": "Held", "conclusion": held_conclusion },
        ]}]});
        std::fs::write(dir.join("jobs.json"), jobs.to_string()).unwrap();
        let _ = std::fs::remove_file(&outputs);
        let _ = std::fs::remove_file(&summary);
        let env = [
            ("JOBS", dir.join("jobs.json").to_str().unwrap().to_owned()),
            ("RUN", "repos/o/r/actions/runs/1/jobs".to_owned()),
            ("GITHUB_OUTPUT", outputs.to_str().unwrap().to_owned()),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap().to_owned()),
        ];
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let ran = run_step(read, &env, Some(&bin));
        assert!(ran.status.success(), "{ran:?}");
        std::fs::read_to_string(&outputs).unwrap()
    };
    assert_eq!(promoted("success"), "held=true\n");
    assert_eq!(promoted("skipped"), "held=false\n");
    let said = std::fs::read_to_string(&summary).unwrap();
    assert!(said.contains("nothing to promote"), "{said}");
}
