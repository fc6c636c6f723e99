//! The rollout workflow carries on what deploy and promote hand off (`--hand-off`): it builds
//! and resumes only when green's record, as xtask writes it, says a rollout or a bake is under
//! way; its look at the record runs the AWS CLI alone.
use bgd_core::ledger::{Promotion, Rolling};

use super::{
    scripts::{fake_tool, run_step},
    *,
};

#[test]
fn the_rollout_workflow_resumes_only_what_greens_record_says_is_under_way() {
    let rollout = workflow("rollout.yml");
    let reader = &rollout["jobs"]["under-way"];
    let record_step = steps(reader).iter().find(|s| s["id"] == "green").unwrap();
    let resume = &rollout["jobs"]["resume"];
    assert_eq!(resume["needs"], "under-way");
    assert_eq!(resume["if"], "needs.under-way.outputs.under_way == 'true'");
    // deploy.toml's function, as the AWS CLI is asked for it.
    let aws = fake_tool(
        "rollout-green",
        "aws",
        r#"[ "$4" = bgd ] && [ "$6" = green ] || exit 9; printf '%s\n' "$RECORD""#,
    );
    let settled = Promotion {
        version: 7,
        from: Some(6),
        actor: "github:octocat".into(),
        at: "2026-12-07T16:00:00Z".into(),
        pinned: false,
        baking: None,
        rolling: None,
    };
    let rolling = Promotion {
        rolling: Some(Rolling {
            to: 8,
            strategy: "canary:10:30m".into(),
            bake: 0,
            step: 0,
            step_at: 1_796_659_200,
            since: 1_796_659_200,
        }),
        ..settled.clone()
    };
    let baking = Promotion {
        baking: Some(1_796_659_200),
        ..settled.clone()
    };
    for (record, under_way) in [(settled, false), (rolling, true), (baking, true)] {
        let output = aws.join("output");
        let _ = std::fs::remove_file(&output);
        let description = record.to_description();
        let env = [
            ("RECORD", description.as_str()),
            ("GITHUB_OUTPUT", output.to_str().unwrap()),
            ("GITHUB_STEP_SUMMARY", "/dev/null"),
        ];
        let ran = run_step(record_step, &env, Some(&aws));
        assert!(ran.status.success(), "{description}: {ran:?}");
        let said = std::fs::read_to_string(&output).unwrap_or_default();
        assert_eq!(said.contains("under_way=true"), under_way, "{description}");
    }
    let deploy = workflow("deploy.yml");
    let run = xtask_step("deploy.yml", aws_job(&deploy))["run"]
        .as_str()
        .unwrap();
    assert!(
        run.contains(" --hand-off "),
        "deploy hands long rollouts off: {run}"
    );
    let run = xtask_step("rollout.yml", aws_job(&rollout))["run"]
        .as_str()
        .unwrap();
    assert!(run.starts_with("exec cargo --locked xtask resume"), "{run}");
}
