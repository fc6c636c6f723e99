//! environments.yml: each push to main that passed ci ships to staging, then, behind the
//! production environment's approval, staging's very image to production (`deploy --from`);
//! each job with roles of its own, written as the profiles deploy.toml names; deploy.yml and
//! rollout.yml stand aside when deploy.toml has environments.
use std::collections::BTreeMap;

use bgd_core::config::Config;
use clap::Parser;
use xtask::flags::{Cli, Verb};

use super::{
    scripts::{deploy_json, fake_tool, run_step, scratch},
    *,
};

/// Staging in one account, production in another with two regions, as environments.yml wants
/// them: each reached through a profile.
const ENVIRONMENTS: &str = r#"
[environments.staging]
account = "111111111111"
profile = "bgd-staging"

[environments.production]
account = "222222222222"
regions = ["eu-west-1", "us-east-1"]
profile = "bgd-production"
"#;

fn deploy_toml() -> String {
    std::fs::read_to_string(setup::workspace_root().join("deploy.toml")).unwrap()
}

fn job<'w>(workflow: &'w Value, name: &str) -> &'w Value {
    let job = &workflow["jobs"][name];
    assert!(job.is_mapping(), "no job {name}");
    job
}

/// The arguments the job's deploy step gives cargo (a stand-in that prints them where the
/// step sends xtask's JSON), checked as xtask parses them.
fn deploy_args(job: &Value, name: &str) -> (Vec<String>, Cli) {
    let cargo = fake_tool(name, "cargo", "printf '%s\\n' \"$@\"");
    let step = xtask_step("environments.yml", job);
    let env = [("RUNNER_TEMP", cargo.to_str().unwrap())];
    let ran = run_step(step, &env, Some(&cargo));
    assert!(ran.status.success(), "{ran:?}");
    let args: Vec<String> = std::fs::read_to_string(cargo.join("deploy.json"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    let [locked, xtask, rest @ ..] = args.as_slice() else {
        panic!("{args:?}")
    };
    assert_eq!((locked.as_str(), xtask.as_str()), ("--locked", "xtask"));
    let cli =
        Cli::try_parse_from(std::iter::once("cargo xtask").chain(rest.iter().map(String::as_str)))
            .unwrap_or_else(|e| panic!("xtask refuses {rest:?}: {e}"));
    (args, cli)
}

#[test]
fn staging_ships_each_push_then_production_takes_its_image_behind_the_approval() {
    let ci = workflow("ci.yml");
    let workflow = workflow("environments.yml");
    let on = &workflow["on"];
    assert_eq!(on["workflow_run"]["workflows"][0], ci["name"]);
    assert_eq!(on["workflow_run"]["types"][0], "completed");
    assert_eq!(on["workflow_run"]["branches"][0], "main");
    let plan = job(&workflow, "plan");
    let condition = plan["if"].as_str().unwrap();
    for part in [
        "github.event.workflow_run.conclusion == 'success'",
        "github.event.workflow_run.event == 'push'",
        // A promotion by hand runs main's code only.
        "github.event_name == 'workflow_dispatch' && github.ref == 'refs/heads/main'",
    ] {
        assert!(condition.contains(part), "{part}: {condition}");
    }

    let staging = job(&workflow, "staging");
    assert_eq!(staging["needs"], "plan");
    let condition = staging["if"].as_str().unwrap();
    assert!(condition.contains("needs.plan.outputs.environments == 'true'"));
    assert!(condition.contains("github.event_name == 'workflow_run'"));
    let checkout = steps(staging)
        .iter()
        .find(|s| uses(s, "actions/checkout"))
        .unwrap();
    assert_eq!(
        checkout["with"]["ref"], "${{ github.event.workflow_run.head_sha }}",
        "the commit ci tested"
    );
    let (args, cli) = deploy_args(staging, "env-staging");
    assert_eq!(
        args[2..],
        [
            "deploy",
            "--env",
            "staging",
            "--image",
            "target/image",
            "--json"
        ]
    );
    assert_eq!(cli.global.env.as_deref(), Some("staging"));

    // Production after staging, in the environment whose required reviewers are the approval.
    let production = job(&workflow, "production");
    assert_eq!(production["environment"]["name"], "production");
    let needs: Vec<&str> = production["needs"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(needs.contains(&"staging"), "{needs:?}");
    let condition = production["if"].as_str().unwrap();
    assert!(
        condition.contains("needs.staging.result == 'success'"),
        "{condition}"
    );
    assert!(condition.contains("needs.plan.outputs.environments == 'true'"));
    let (args, cli) = deploy_args(production, "env-production");
    assert_eq!(
        args[2..],
        [
            "deploy",
            "--env",
            "production",
            "--from",
            "staging",
            "--json"
        ]
    );
    assert_eq!(cli.global.env.as_deref(), Some("production"));
    let Verb::Deploy(deploy) = cli.verb else {
        unreachable!()
    };
    assert_eq!(deploy.from.as_deref(), Some("staging"));
    assert!(deploy.image.is_none(), "production builds nothing");
    let built: Vec<&str> = steps(production)
        .iter()
        .filter_map(|s| s["run"].as_str())
        .flat_map(commands)
        .collect();
    assert!(!built.contains(&"cargo --locked xtask build"), "{built:?}");
}

/// The roles each job assumes, by the profile each is written as.
fn roles(job: &Value) -> BTreeMap<&str, &str> {
    credentials_steps(job)
        .into_iter()
        .map(|step| {
            let with = &step["with"];
            // No environment credentials: aws-config's default chain reads them before any
            // profile, so they would shadow the profile deploy.toml names.
            assert_eq!(with["output-env-credentials"], false, "{step:?}");
            assert!(
                with["output-credentials"].is_null(),
                "no credentials in outputs"
            );
            let profile = with["aws-profile"].as_str().unwrap();
            // STS in the region of the environment the profile reaches (deploy.toml's).
            let region = profile.replace("_profile", "_region");
            assert_eq!(with["aws-region"], region.as_str(), "{step:?}");
            (profile, with["role-to-assume"].as_str().unwrap())
        })
        .collect()
}

#[test]
fn each_job_holds_roles_of_its_own_and_production_none_that_writes_staging() {
    let workflow = workflow("environments.yml");
    let staging_profile = "${{ needs.plan.outputs.staging_profile }}";
    let production_profile = "${{ needs.plan.outputs.production_profile }}";
    let staging = roles(job(&workflow, "staging"));
    let production = roles(job(&workflow, "production"));
    let staging_deploy = "${{ vars.AWS_STAGING_DEPLOY_ROLE_ARN }}";
    let staging_read = "${{ vars.AWS_STAGING_READ_ROLE_ARN }}";
    let production_deploy = "${{ vars.AWS_PRODUCTION_DEPLOY_ROLE_ARN }}";
    assert_eq!(staging, BTreeMap::from([(staging_profile, staging_deploy)]));
    // Staging as `deploy --from` reads it (iam-policy --promotion-source), and production.
    assert_eq!(
        production,
        BTreeMap::from([
            (staging_profile, staging_read),
            (production_profile, production_deploy)
        ])
    );
    let all: Vec<&&str> = staging.values().chain(production.values()).collect();
    for (i, role) in all.iter().enumerate() {
        assert!(!all[i + 1..].contains(role), "{role} held by two jobs");
    }
    // The AWS jobs are these two; neither holds a role through another job's variable.
    let names: Vec<&str> = aws_jobs(&workflow).iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["staging", "production"]);
    let production_text = serde_yaml_ng::to_string(job(&workflow, "production")).unwrap();
    assert!(!production_text.contains("AWS_STAGING_DEPLOY_ROLE_ARN"));
    let staging_text = serde_yaml_ng::to_string(job(&workflow, "staging")).unwrap();
    assert!(!staging_text.contains("AWS_PRODUCTION"));
}

/// Runs workflow `name`'s plan step with deploy.toml's `text`: its outputs, or None when it fails.
fn plan(name: &str, text: &str) -> Option<String> {
    let workflow = workflow(name);
    let step = steps(job(&workflow, "plan"))
        .iter()
        .find(|s| s["id"] == "plan")
        .unwrap();
    let dir = scratch(&format!("plan-{}", text.len()));
    let toml = dir.join("deploy.toml");
    std::fs::write(&toml, text).unwrap();
    let outputs = dir.join("outputs");
    let env = [
        ("BGD_DEPLOY_TOML", toml.to_str().unwrap()),
        ("GITHUB_OUTPUT", outputs.to_str().unwrap()),
    ];
    let ran = run_step(step, &env, None);
    ran.status
        .success()
        .then(|| std::fs::read_to_string(&outputs).unwrap())
}

#[test]
fn deploy_toml_says_which_workflow_ships_and_each_environments_profile() {
    let one_stack = deploy_toml();
    let two = format!("{one_stack}{ENVIRONMENTS}");
    for name in ["deploy.yml", "environments.yml"] {
        assert_eq!(
            plan(name, &one_stack).as_deref(),
            Some("environments=false\n")
        );
    }
    assert_eq!(
        plan("environments.yml", &two).as_deref(),
        Some(
            "environments=true\nstaging_profile=bgd-staging\nstaging_region=us-east-1\nproduction_profile=bgd-production\nproduction_region=eu-west-1\n"
        )
    );
    // The profiles the jobs write are those xtask reaches each environment through.
    let config = Config::parse(&two).unwrap();
    for (name, profile) in [("staging", "bgd-staging"), ("production", "bgd-production")] {
        for region in config.regions_of(name).unwrap() {
            let placed = config.in_environment(name, &region).unwrap();
            assert_eq!(placed.placement.unwrap().profile.as_deref(), Some(profile));
        }
    }
    // Environments the jobs cannot reach stop the run before any credential.
    for (from, to) in [
        (
            "profile = \"bgd-production\"",
            "role_arn = \"arn:aws:iam::222222222222:role/deploy\"",
        ),
        ("\"bgd-production\"", "\"bgd-staging\""),
        ("\"bgd-staging\"", "\"../staging\""),
        ("[environments.staging]", "[environments.qa]"),
    ] {
        let text = two.replace(from, to);
        assert_ne!(text, two);
        assert_eq!(plan("environments.yml", &text), None, "{to}");
    }
    // deploy.yml ships deploy.toml's one stack only, and rollout.yml resumes its rollouts only:
    // with environments, its scheduled look at green would wait for production's reviewers.
    let deploy = workflow("deploy.yml");
    let condition = aws_job(&deploy)["if"].as_str().unwrap();
    assert!(condition.contains("needs.plan.outputs.environments == 'false'"));
    let rollout = workflow("rollout.yml");
    assert_eq!(
        plan("rollout.yml", &two).as_deref(),
        plan("environments.yml", &two).as_deref()
    );
    let under_way = job(&rollout, "under-way");
    assert_eq!(under_way["needs"], "plan");
    let condition = under_way["if"].as_str().unwrap();
    assert!(condition.contains("needs.plan.outputs.environments == 'false'"));
}

#[test]
fn each_environment_links_to_its_first_regions_green() {
    let workflow = workflow("environments.yml");
    for name in ["staging", "production"] {
        let job = job(&workflow, name);
        let output = "${{ steps.green.outputs.green_url }}";
        assert_eq!(job["environment"]["url"], output);
        let green = steps(job).iter().find(|s| s["id"] == "green").unwrap();
        let dir = scratch(&format!("env-green-{name}"));
        let outputs = dir.join("outputs");
        let url_of = |json: String| {
            std::fs::write(dir.join("deploy.json"), json).unwrap();
            let _ = std::fs::remove_file(&outputs);
            let env = [
                ("RUNNER_TEMP", dir.to_str().unwrap()),
                ("GITHUB_OUTPUT", outputs.to_str().unwrap()),
            ];
            let ran = run_step(green, &env, None);
            assert!(ran.status.success(), "{ran:?}");
            std::fs::read_to_string(&outputs).unwrap()
        };
        // --json prints one document per region.
        let first = "https://a1.execute-api.eu-west-1.amazonaws.com/green";
        let second = "https://b2.execute-api.us-east-1.amazonaws.com/green";
        let regions = format!(
            "{}\n{}\n",
            deploy_json(Some(first)),
            deploy_json(Some(second))
        );
        assert_eq!(url_of(regions), format!("green_url={first}\n"));
        assert_eq!(
            url_of(deploy_json(Some(first))),
            format!("green_url={first}\n")
        );
        assert_eq!(url_of(deploy_json(None)), "green_url=\n");
    }
}
