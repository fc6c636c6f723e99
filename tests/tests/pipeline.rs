//! The blue/green pipeline end to end, each test on a local cloud of its own: the real
//! `cargo xtask` binary against moto, the registry and the gateway, checked over HTTP.
use std::{
    path::{Path, PathBuf},
    process::Output,
    sync::OnceLock,
};

use serde_json::Value;
use tokio::process::Command;
use xtask::setup;

fn xtask_exe() -> PathBuf {
    let exe = setup::target_dir().join("debug/xtask");
    assert!(
        exe.exists(),
        "{} is missing: run the tests with `cargo xtask test`",
        exe.display()
    );
    exe
}

/// Two images of this commit told apart by their build id, built once for every test.
fn images() -> &'static (PathBuf, PathBuf) {
    static IMAGES: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    IMAGES.get_or_init(|| {
        let build = |id: &str| {
            let out = setup::target_dir().join(format!("e2e/images/{id}"));
            let status = std::process::Command::new(xtask_exe())
                .args(["build", "--build-id", id, "--out"])
                .arg(&out)
                .status()
                .unwrap();
            assert!(status.success(), "cargo xtask build --build-id {id} failed");
            out
        };
        (build("a"), build("b"))
    })
}

fn head_sha() -> String {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(setup::workspace_root())
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// One isolated deployment: its own local cloud, deploy.toml and names.
struct Stack {
    dir: PathBuf,
    deploy_toml: PathBuf,
}

impl Stack {
    fn new(name: &str) -> Self {
        let dir = setup::target_dir().join(format!("e2e/{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let stack = Self {
            deploy_toml: dir.join("deploy.toml"),
            dir,
        };
        stack.configure(name, "GREETING = \"hello from e2e\"");
        stack
    }

    fn configure(&self, name: &str, environment: &str) {
        let text = format!(
            "[project]\nname = \"{name}\"\nregion = \"us-east-1\"\n\n[function]\nmemory_mb = 128\ntimeout_s = 5\n\n\
             [function.environment]\n{environment}\n\n[[smoke]]\npath = \"/\"\nstatus = 200\ncontains = \"hello\"\n"
        );
        std::fs::write(&self.deploy_toml, text).unwrap();
    }

    /// `cargo xtask ARGS --local --json`, as a user would run it.
    async fn xtask(&self, args: &[&str]) -> Output {
        let output = Command::new(xtask_exe())
            .args(args)
            .args(["--local", "--json"])
            .env("BGD_DEPLOY_TOML", &self.deploy_toml)
            .env("BGD_LOCAL_DIR", self.dir.join("local"))
            .env("GITHUB_STEP_SUMMARY", self.summary())
            .output()
            .await
            .unwrap();
        eprintln!(
            "$ cargo xtask {} → {}\n{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    async fn ok(&self, args: &[&str]) -> Value {
        let output = self.xtask(args).await;
        assert!(output.status.success(), "cargo xtask {args:?} failed");
        serde_json::from_slice(&output.stdout).expect("--json prints JSON on stdout")
    }

    /// Fails, and says why on stderr.
    async fn refused(&self, args: &[&str]) -> String {
        let output = self.xtask(args).await;
        assert!(
            !output.status.success(),
            "cargo xtask {args:?} should have failed"
        );
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    /// Where deploys append their Markdown summary, as in GitHub Actions.
    fn summary(&self) -> PathBuf {
        self.dir.join("step-summary.md")
    }

    async fn status(&self) -> Value {
        self.ok(&["status"]).await
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = std::process::Command::new(xtask_exe())
            .args(["local", "down"])
            .env("BGD_LOCAL_DIR", self.dir.join("local"))
            .output();
    }
}

/// GET a stage's `/version` as any client would.
async fn version_at(stage_url: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new().get(format!("{stage_url}/version"));
    if let Some(token) = token {
        request = request.header("x-verify-token", token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn stage<'a>(status: &'a Value, name: &str) -> Option<&'a Value> {
    status["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == name)
}

fn alias_version(status: &Value, name: &str) -> String {
    let alias = status["aliases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["alias"] == name)
        .unwrap();
    alias["version"].as_str().unwrap().to_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_promotes_only_verified_versions_and_rollback_returns_green_to_one() {
    let (image_a, image_b) = images();
    let stack = Stack::new("e2e-flow");

    // A fresh local cloud: deploy provisions, verifies on blue, then serves it on green.
    let first = stack.ok(&["deploy", "--image", path(image_a)]).await;
    let version_a = first["version"].as_u64().unwrap();
    let green_url = first["green_url"].as_str().unwrap().to_owned();
    let (status, report) = version_at(&green_url, None).await;
    assert_eq!(status, 200);
    assert_eq!(report["version"], version_a.to_string());
    assert_eq!(report["alias"], "green");
    assert_eq!(report["build"]["git_sha"], head_sha());
    assert_eq!(report["build"]["id"], "a");

    // Provision again: everything exists, nothing is created (permissions included).
    let provision = stack.ok(&["provision"]).await;
    assert_eq!(provision["created"], serde_json::json!([]), "{provision}");

    // A second build: published as B > A, verified on blue, promoted; the lock is gone.
    let second = stack.ok(&["deploy", "--image", path(image_b)]).await;
    assert_eq!(second["outcome"], "deployed");
    let version_b = second["version"].as_u64().unwrap();
    assert!(version_b > version_a);
    let (_, report) = version_at(&green_url, None).await;
    assert_eq!(report["version"], version_b.to_string());
    assert_eq!(report["build"]["id"], "b");
    let phases: Vec<&str> = second["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    assert_eq!(
        phases,
        [
            "preflight",
            "build",
            "no-op check",
            "lock",
            "push",
            "update",
            "blue",
            "verify",
            "promote",
            "cleanup"
        ]
    );
    let summary = std::fs::read_to_string(stack.summary()).unwrap();
    assert!(
        summary.contains("### bgd deploy: Deployed")
            && summary.contains(&format!("| version | {version_b} |")),
        "{summary}"
    );
    let status = stack.status().await;
    assert!(
        stage(&status, "blue").is_none(),
        "no blue stage after a deploy: {status}"
    );
    assert_eq!(alias_version(&status, "green"), version_b.to_string());

    // The same image with the same configuration again: nothing is written.
    let again = stack.ok(&["deploy", "--image", path(image_b)]).await;
    assert_eq!(again["outcome"], "already_deployed");
    assert_eq!(again["write_calls"], 0, "a no-op deploy writes nothing");
    assert_eq!(again["version"], version_b);

    // Rollback to A: green reports A, status agrees, and green is pinned.
    let rollback = stack
        .ok(&["rollback", "--to", &version_a.to_string()])
        .await;
    assert_eq!(rollback["to"], version_a);
    assert_eq!(rollback["verified_before"], true);
    assert_eq!(
        rollback["write_calls"], 1,
        "a verified version goes back to green in one write"
    );
    let (_, report) = version_at(&green_url, None).await;
    assert_eq!(report["version"], version_a.to_string());
    let status = stack.status().await;
    assert_eq!(alias_version(&status, "green"), version_a.to_string());
    assert_eq!(
        stage(&status, "green").unwrap()["reports"]["Ok"]["version"],
        version_a.to_string()
    );
    let why = stack.refused(&["deploy", "--image", path(image_b)]).await;
    assert!(why.contains("pinned") && why.contains("unpin"), "{why}");

    // Bad rollback targets change nothing.
    for bad in ["0", "99999999999", &version_a.to_string()] {
        let why = stack.refused(&["rollback", "--to", bad]).await;
        assert!(why.contains("error:"), "{why}");
    }
    assert_eq!(
        alias_version(&stack.status().await, "green"),
        version_a.to_string()
    );

    let destroyed = stack.ok(&["destroy", "--yes"]).await;
    assert!(
        destroyed["message"].as_str().unwrap().contains("REST API"),
        "{destroyed}"
    );
    let status = stack.status().await;
    assert!(status["stages"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deploy_whose_blue_fails_verification_leaves_green_unchanged_and_blue_gone() {
    let (image_a, _) = images();
    let stack = Stack::new("e2e-fail");
    let first = stack.ok(&["deploy", "--image", path(image_a)]).await;
    let green_url = first["green_url"].as_str().unwrap().to_owned();
    let green_version = first["version"].as_u64().unwrap().to_string();

    // The app requires GREETING (deploy.toml [app] required_env); this configuration lacks it.
    stack.configure("e2e-fail", "OTHER = \"x\"");
    let why = stack.refused(&["deploy", "--image", path(image_a)]).await;
    assert!(
        why.contains("check failed") && why.contains("GREETING"),
        "{why}"
    );
    assert!(
        why.contains("the function's last log lines"),
        "the report shows the function's logs: {why}"
    );

    let (_, report) = version_at(&green_url, None).await;
    assert_eq!(report["version"], green_version);
    let status = stack.status().await;
    assert_eq!(alias_version(&status, "green"), green_version);
    assert!(
        stage(&status, "blue").is_none(),
        "the lock is released after a failure: {status}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_held_lock_refuses_a_second_deploy_naming_its_holder() {
    let (image_a, image_b) = images();
    let stack = Stack::new("e2e-lock");
    stack.ok(&["deploy", "--image", path(image_a)]).await;
    let kept = stack
        .ok(&["deploy", "--image", path(image_b), "--keep-blue"])
        .await;
    let blue_url = kept["blue_url"].as_str().unwrap().to_owned();

    let why = stack.refused(&["deploy", "--image", path(image_a)]).await;
    assert!(
        why.contains("another deploy holds the lock") && why.contains("--break-lock"),
        "{why}"
    );

    // Blue answers only with its token, which status shows only when asked.
    let hidden = stack.status().await;
    let hidden_token = &stage(&hidden, "blue").unwrap()["variables"]["verify_token"];
    assert!(hidden_token.as_str().unwrap().contains("hidden"));
    let shown = stack.ok(&["status", "--show-token"]).await;
    let token = stage(&shown, "blue").unwrap()["variables"]["verify_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(version_at(&blue_url, None).await.0, 403);
    assert_eq!(version_at(&blue_url, Some("wrong")).await.0, 403);
    let (status, report) = version_at(&blue_url, Some(&token)).await;
    assert_eq!(status, 200);
    assert_eq!(report["alias"], "blue");

    let broke = stack
        .ok(&["deploy", "--image", path(image_a), "--break-lock"])
        .await;
    assert_eq!(broke["outcome"], "deployed");
    assert!(stage(&stack.status().await, "blue").is_none());
}
