//! One isolated deployment per test, driven through the real `cargo xtask` binary with
//! `--local --json`: its own local cloud (`BGD_LOCAL_DIR`), deploy.toml (`BGD_DEPLOY_TOML`) and
//! step summary, plus two images built once per test binary and deployed alternately.
use std::{
    path::{Path, PathBuf},
    process::Output,
    sync::OnceLock,
    time::Duration,
};

use bgd_aws::{Audit, SdkCloud};
use bgd_core::{cloud::ROLE_POLICY, setup};
use bgd_local::LocalCloud;
use serde_json::Value;
use tokio::{process::Command, time::Instant};

use xtask::driver::Isolated;

use crate::local::{xtask_binary, xtask_faults_binary};

/// Two images of this commit told apart by their build id, built once per test binary.
pub fn images() -> &'static (PathBuf, PathBuf) {
    static IMAGES: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    IMAGES.get_or_init(|| {
        let build = |id: &str| {
            let out = setup::target_dir().join(format!("e2e/images/{id}"));
            let status = std::process::Command::new(xtask_binary())
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

/// An arm64 image of this commit (deploy.toml's, on arm64), built once per test binary.
pub fn arm64_image() -> &'static PathBuf {
    static IMAGE: OnceLock<PathBuf> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let dir = setup::target_dir().join("e2e/images");
        std::fs::create_dir_all(&dir).unwrap();
        let deploy_toml = dir.join("arm64.toml");
        let workspace = std::fs::read_to_string(setup::workspace_root().join("deploy.toml"))
            .unwrap()
            .replace("architecture = \"x86_64\"", "architecture = \"arm64\"");
        assert!(
            workspace.contains("architecture = \"arm64\""),
            "{workspace}"
        );
        std::fs::write(&deploy_toml, workspace).unwrap();
        let out = dir.join("arm64");
        let status = std::process::Command::new(xtask_binary())
            .args(["build", "--build-id", "arm64", "--out"])
            .arg(&out)
            .env("BGD_DEPLOY_TOML", &deploy_toml)
            .status()
            .unwrap();
        assert!(status.success(), "cargo xtask build for arm64 failed");
        out
    })
}

pub fn head_sha() -> String {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(setup::workspace_root())
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// One isolated deployment (the bench's driver, [`Isolated`]): its own local cloud,
/// deploy.toml and names.
pub struct Stack {
    pub name: String,
    pub dir: PathBuf,
    pub deploy_toml: PathBuf,
    isolated: Isolated,
    /// Set for every run: the account it acts as, another stack's local cloud.
    env: Vec<(&'static str, String)>,
    /// The environment of deploy.toml every run is in (`--env`), if any.
    environment: Option<&'static str>,
}

impl Stack {
    pub fn new(name: &str) -> Self {
        Self::of(name, name)
    }

    /// A stack in `e2e/{dir}` of the project `project` (two stacks may deploy one project, in
    /// two accounts or regions).
    pub fn of(dir: &str, project: &str) -> Self {
        let dir = setup::target_dir().join(format!("e2e/{dir}"));
        let isolated = Isolated::fresh(dir.clone(), xtask_binary(), "").unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let stack = Self {
            name: project.into(),
            deploy_toml: isolated.deploy_toml(),
            dir,
            isolated,
            env: Vec::new(),
            environment: None,
        };
        stack.configure("GREETING = \"hello from e2e\"", "hello");
        stack
    }

    /// Every run is in deploy.toml's environment `local`, in `account` (`--env local`); a
    /// later [`Stack::configure`] writes deploy.toml without it.
    pub fn as_account(mut self, account: &str) -> Self {
        let mut text = std::fs::read_to_string(&self.deploy_toml).unwrap();
        text.push_str(&format!(
            "\n[environments.local]\naccount = \"{account}\"\n"
        ));
        std::fs::write(&self.deploy_toml, text).unwrap();
        self.environment = Some("local");
        self
    }

    /// Every run uses `other`'s local cloud (one local cloud, two accounts or regions).
    pub fn in_cloud_of(mut self, other: &Stack) -> Self {
        let dir = other.local_dir().to_str().unwrap().to_owned();
        self.env.push(("BGD_LOCAL_DIR", dir));
        self
    }

    /// Sets deploy.toml's `[project] region`.
    pub fn set_region(&self, region: &str) {
        let text = std::fs::read_to_string(&self.deploy_toml).unwrap();
        let text = text.replace("region = \"us-east-1\"", &format!("region = \"{region}\""));
        std::fs::write(&self.deploy_toml, text).unwrap();
    }

    /// Writes deploy.toml with this `[function.environment]` body, a smoke check on `/`
    /// that expects `smoke_contains` in the body, and one that POSTs JSON to `/greet`.
    pub fn configure(&self, environment: &str, smoke_contains: &str) {
        let text = format!(
            "[project]\nname = \"{}\"\nregion = \"us-east-1\"\n\n[function]\nmemory_mb = 128\ntimeout_s = 5\n\n\
             [function.environment]\n{environment}\n\n[[smoke]]\npath = \"/\"\nstatus = 200\ncontains = \"{smoke_contains}\"\n\n\
             [[smoke]]\nmethod = \"POST\"\npath = \"/greet\"\njson = {{ name = \"Ada\" }}\ncontains = \"Ada\"\n",
            self.name
        );
        std::fs::write(&self.deploy_toml, text).unwrap();
    }

    /// Sets deploy.toml's `[function] architecture` (`x86_64` when not set).
    pub fn set_architecture(&self, architecture: &str) {
        let text = std::fs::read_to_string(&self.deploy_toml).unwrap();
        let text = text
            .lines()
            .filter(|line| !line.starts_with("architecture = "))
            .map(|line| match line {
                "[function]" => format!("{line}\narchitecture = \"{architecture}\""),
                _ => line.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(&self.deploy_toml, text + "\n").unwrap();
    }

    /// `cargo xtask ARGS --local --json` with this stack's environment, not yet started.
    pub fn command(&self, args: &[&str]) -> Command {
        self.command_of(xtask_binary(), args)
    }

    fn command_of(&self, binary: PathBuf, args: &[&str]) -> Command {
        let in_environment = self.environment.map(|name| ["--env", name]);
        let args = [args, in_environment.as_ref().map_or(&[][..], |a| &a[..])].concat();
        let mut command = Command::from(self.isolated.command(&binary, &args));
        command
            .env("GITHUB_STEP_SUMMARY", self.summary())
            .envs(self.env.iter().map(|(name, value)| (name, value)))
            .kill_on_drop(true);
        command
    }

    /// `cargo xtask ARGS --local --json`, as a user would run it, with extra environment; with
    /// a fault hook (`BGD_FAULT_*`) in it, the tests' armed build runs instead.
    pub async fn xtask_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let binary = if env.iter().any(|(name, _)| name.starts_with("BGD_FAULT_")) {
            xtask_faults_binary()
        } else {
            xtask_binary()
        };
        let mut command = self.command_of(binary, args);
        command.envs(env.iter().copied());
        let output = command.output().await.unwrap();
        eprintln!(
            "$ cargo xtask {} {env:?} → {}\n{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        if let Ok(printed) = serde_json::from_slice::<Value>(&output.stdout) {
            crate::schema::check(args[0], output.status.success(), &printed);
        }
        output
    }

    pub async fn xtask(&self, args: &[&str]) -> Output {
        self.xtask_with(args, &[]).await
    }

    /// A run of `args` paused as `phase` starts (the tests' fault hook), `meanwhile` run at
    /// exactly that point, then the run resumed: both outputs.
    pub async fn paused_at(
        &self,
        args: &[&str],
        phase: &str,
        meanwhile: &[&str],
    ) -> (Output, Output) {
        self.paused_while(args, phase, self.xtask(meanwhile)).await
    }

    /// A run of `args` paused as `phase` starts, resumed once `meanwhile` is done: the run's
    /// output and what `meanwhile` returned.
    pub async fn paused_while<T>(
        &self,
        args: &[&str],
        phase: &str,
        meanwhile: impl std::future::Future<Output = T>,
    ) -> (Output, T) {
        let resume = self.dir.join(format!("resume-{phase}"));
        let paused = self.dir.join(format!("resume-{phase}.paused"));
        let _ = std::fs::remove_file(&resume);
        let _ = std::fs::remove_file(&paused);
        let resume_path = resume.to_str().unwrap();
        let env = [
            ("BGD_FAULT_PAUSE_AT", phase),
            ("BGD_FAULT_RESUME_FILE", resume_path),
        ];
        let paused_run = self.xtask_with(args, &env);
        let other = async {
            let deadline = Instant::now() + Duration::from_secs(120);
            while !paused.exists() {
                assert!(Instant::now() < deadline, "{args:?} never reached {phase}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let output = meanwhile.await;
            std::fs::write(&resume, "").unwrap();
            output
        };
        tokio::join!(paused_run, other)
    }

    pub async fn ok(&self, args: &[&str]) -> Value {
        let output = self.xtask(args).await;
        assert!(output.status.success(), "cargo xtask {args:?} failed");
        serde_json::from_slice(&output.stdout).expect("--json prints JSON on stdout")
    }

    /// Fails, and says why on stderr.
    pub async fn refused(&self, args: &[&str]) -> String {
        let output = self.xtask(args).await;
        assert!(
            !output.status.success(),
            "cargo xtask {args:?} should have failed"
        );
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    /// Where deploys append their Markdown summary, as in GitHub Actions.
    pub fn summary(&self) -> PathBuf {
        self.dir.join("step-summary.md")
    }

    pub fn local_dir(&self) -> PathBuf {
        match self.env.iter().find(|(name, _)| *name == "BGD_LOCAL_DIR") {
            Some((_, dir)) => dir.into(),
            None => self.isolated.local_dir(),
        }
    }

    pub async fn status(&self) -> Value {
        self.ok(&["status"]).await
    }

    /// The function role's inline policy ([`ROLE_POLICY`]), read as `doctor` reads it; `None`
    /// when there is no role, or it has no such policy.
    pub async fn role_policy(&self) -> Option<Value> {
        let role = format!("{}-lambda", self.name);
        match self.cloud().await.role_grants(&role).await {
            Ok(grants) => grants
                .policies
                .into_iter()
                .find(|(from, _)| *from == format!("inline {ROLE_POLICY}"))
                .map(|(_, document)| document),
            Err(e) if e.is_not_found() => None,
            Err(e) => panic!("reading role {role}: {e}"),
        }
    }

    /// The SDK on this stack's (running) local cloud, for reads `status` does not show.
    pub async fn cloud(&self) -> SdkCloud {
        let endpoints = LocalCloud::at(self.local_dir()).endpoints().unwrap();
        SdkCloud::connect(endpoints.target()).await.unwrap()
    }
}

/// GET a stage's `/version` as any client would.
pub async fn version_at(stage_url: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = bgd_tls::client().get(format!("{stage_url}/version"));
    if let Some(token) = token {
        request = request.header("x-verify-token", token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub fn stage<'a>(status: &'a Value, name: &str) -> Option<&'a Value> {
    status["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == name)
}

pub fn alias_version(status: &Value, name: &str) -> String {
    let alias = status["aliases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["alias"] == name)
        .unwrap();
    alias["version"].as_str().unwrap().to_owned()
}

pub fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}
