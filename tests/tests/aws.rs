//! The pipeline against a real AWS account: provision, deploy, verify, roll back, destroy,
//! under names of its own. Ignored unless asked for: `BGD_AWS_E2E_PROFILE=PROFILE cargo test
//! -p e2e --test aws -- --ignored` (it refuses to run when `CI` is set). Not yet run against
//! AWS.
use std::{path::PathBuf, process::Command};

use bgd_core::setup;

/// One run's resources, destroyed on drop whatever the test reached.
struct Account {
    profile: String,
    deploy_toml: PathBuf,
}

impl Account {
    fn xtask(&self, args: &[&str]) -> bool {
        let exe = setup::target_dir().join("debug/xtask");
        assert!(
            exe.exists(),
            "{} is missing: run `cargo build -p xtask` first",
            exe.display()
        );
        eprintln!("$ cargo xtask {}", args.join(" "));
        Command::new(exe)
            .args(args)
            .env("AWS_PROFILE", &self.profile)
            .env("BGD_DEPLOY_TOML", &self.deploy_toml)
            .status()
            .unwrap()
            .success()
    }

    fn ok(&self, args: &[&str]) {
        assert!(self.xtask(args), "cargo xtask {args:?} failed against AWS");
    }
}

impl Drop for Account {
    fn drop(&mut self) {
        if !self.xtask(&["destroy", "--yes"]) {
            eprintln!(
                "aws e2e: destroy failed: remove what {} names by hand",
                self.deploy_toml.display()
            );
        }
    }
}

#[test]
#[ignore = "needs an AWS account: BGD_AWS_E2E_PROFILE=PROFILE, then --ignored"]
fn the_pipeline_on_a_real_account() {
    let profile = std::env::var("BGD_AWS_E2E_PROFILE").expect(
        "set BGD_AWS_E2E_PROFILE to an AWS profile to run it (it creates and destroys resources)",
    );
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set: this test never runs in CI"
    );
    let region = std::env::var("BGD_AWS_E2E_REGION").unwrap_or_else(|_| "us-east-1".into());
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // Unique per run, so a run never touches another's (or a real deployment's) resources.
    let name = format!("bgd-e2e-{secs}-{}", std::process::id());
    let dir = setup::target_dir().join("aws-e2e").join(&name);
    std::fs::create_dir_all(&dir).unwrap();
    let deploy_toml = dir.join("deploy.toml");
    std::fs::write(
        &deploy_toml,
        format!(
            "[project]\nname = \"{name}\"\nregion = \"{region}\"\n\n[function]\nmemory_mb = 128\ntimeout_s = 5\n\n\
             [function.environment]\nGREETING = \"hello from aws e2e\"\n\n[app]\nrequired_env = [\"GREETING\"]\n\n\
             [[smoke]]\npath = \"/\"\nstatus = 200\ncontains = \"hello\"\n"
        ),
    )
    .unwrap();
    let account = Account {
        profile,
        deploy_toml,
    };
    account.ok(&["provision"]);
    account.ok(&["deploy", "--build-id", "second"]);
    account.ok(&["verify", "--stage", "green", "--expect-version", "2"]);
    account.ok(&["rollback", "--to", "1"]);
    account.ok(&["verify", "--stage", "green", "--expect-version", "1"]);
    account.ok(&["unpin"]);
}
