//! Bring your own Lambda: a Lambda that is not bgd's axum sample goes to green through the same
//! pipeline, inside the deploy contract. A plain `service_fn` (`app/plain`) deployed from this
//! workspace, and a fresh workspace with Lambdas of its own (an axum `Router`, a `service_fn`)
//! that follows the README's "Add bgd to your Lambda" step by step.
use std::{
    path::{Path, PathBuf},
    process::Command,
};

use bgd_core::setup;
use e2e::stack::{Stack, head_sha, path};
use serde_json::Value;

/// GET `url` as any client would: status, the contract's two headers, the body.
async fn get(url: &str) -> (u16, [String; 2], String) {
    let response = bgd_tls::client().get(url).send().await.unwrap();
    let header = |name: &str| {
        let value = response.headers().get(name);
        value.map_or("(missing)".into(), |v| v.to_str().unwrap().to_owned())
    };
    let headers = [header("x-app-version"), header("x-app-alias")];
    (
        response.status().as_u16(),
        headers,
        response.text().await.unwrap(),
    )
}

/// The run verified its version on blue (a deploy's `verify`; on a fresh stack, provision's
/// `green stage`, created only once blue passed the same checks, the token's 403 included) and
/// green serves it: the self-report at `version_path`, the headers on the Lambda's own route,
/// `root_says` at `/`.
async fn green_serves(deployed: &Value, git_sha: &str, root_says: &str, version_path: &str) {
    let phases: Vec<&str> = deployed["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    let verified = match deployed["outcome"].as_str() {
        Some("deployed") => phases.contains(&"verify"),
        Some("already_deployed") => phases.contains(&"green stage"),
        _ => false,
    };
    assert!(verified, "blue verified the version: {deployed}");
    let version = deployed["version"].as_u64().unwrap().to_string();
    let green = deployed["green_url"].as_str().unwrap();
    let (status, _, body) = get(&format!("{green}{version_path}")).await;
    assert_eq!(status, 200, "{body}");
    let report: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["version"], version);
    assert_eq!(report["alias"], "green");
    assert_eq!(report["build"]["git_sha"], git_sha);
    let (status, headers, body) = get(&format!("{green}/")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(root_says), "{body}");
    assert_eq!(headers, [version, "green".to_owned()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plain_service_fn_lambda_goes_to_green_with_blue_verified() {
    let stack = Stack::new("e2e-plain");
    let toml = std::fs::read_to_string(&stack.deploy_toml).unwrap();
    // Its own package and binary, and a smoke check of its own route.
    let (config, _smoke) = toml.split_once("[[smoke]]").unwrap();
    std::fs::write(
        &stack.deploy_toml,
        format!(
            "{config}[app]\npackage = \"plain-sample\"\nbinary = \"plain\"\n\n\
             [[smoke]]\npath = \"/\"\ncontains = \"plain service_fn\"\n"
        ),
    )
    .unwrap();
    // The first deploy provisions the stack with it; a second build is a deploy proper.
    for id in ["one", "two"] {
        let image = stack.dir.join(id);
        stack
            .ok(&["build", "--build-id", id, "--out", path(&image)])
            .await;
        let deployed = stack.ok(&["deploy", "--image", path(&image)]).await;
        let says = "hello from a plain service_fn";
        green_serves(&deployed, &head_sha(), says, "/version").await;
    }
}

/// A workspace as `cargo new` and a user would make it, with no bgd: two Lambdas, an axum
/// `Router` (`orders`) and a plain `service_fn` (`ping`).
fn fresh_workspace(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    let write = |file: &str, text: &str| {
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "Cargo.toml",
        "[workspace]\nresolver = \"3\"\nmembers = [\"orders\", \"ping\"]\n",
    );
    write(".gitignore", "/target\n");
    let lambda_http = "lambda_http = { version = \"1.3\", default-features = false, features = [\"apigw_rest\"] }\n\
                       tokio = { version = \"1\", features = [\"macros\", \"rt-multi-thread\"] }\n";
    let manifest = |name: &str, more: &str| {
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\n{lambda_http}{more}"
        )
    };
    let axum = "axum = { version = \"0.8\", default-features = false, features = [\"json\"] }\n";
    write("orders/Cargo.toml", &manifest("orders", axum));
    write(
        "orders/src/main.rs",
        "use axum::{Router, routing::get};\n\n\
         #[tokio::main]\n\
         async fn main() -> Result<(), lambda_http::Error> {\n    \
             let app = Router::new().route(\"/\", get(|| async { \"orders: none yet\" }));\n    \
             lambda_http::run(app).await\n\
         }\n",
    );
    write("ping/Cargo.toml", &manifest("ping", ""));
    write(
        "ping/src/main.rs",
        "use lambda_http::{Body, Error, Request, Response, service_fn};\n\n\
         #[tokio::main]\n\
         async fn main() -> Result<(), Error> {\n    \
             let app = service_fn(|request: Request| async move {\n        \
                 let status = if request.uri().path() == \"/\" { 200 } else { 404 };\n        \
                 Ok::<_, Error>(Response::builder().status(status).body(Body::from(\"pong\"))?)\n    \
             });\n    \
             lambda_http::run(app).await\n\
         }\n",
    );
}

/// The README's "Add bgd to your Lambda", done to `dir` for both its Lambdas.
fn add_bgd(dir: &Path) {
    let bgd = setup::workspace_root();
    // 1. xtask/ (with the local gateway inside) and the contract, beside the Lambdas.
    copy(&bgd.join("xtask"), &dir.join("xtask"));
    copy(&bgd.join("app/contract"), &dir.join("bgd-contract"));
    copy(&bgd.join(".cargo"), &dir.join(".cargo"));
    // 2. The workspace: the new members, and bgd's shared tables (the versions xtask and the
    //    contract inherit, and the profiles the size and speed goals were measured with).
    let ours = std::fs::read_to_string(bgd.join("Cargo.toml")).unwrap();
    let (_, tables) = ours.split_once("[workspace.package]").unwrap();
    let tables = tables
        .lines()
        .filter(|line| !line.starts_with("app = "))
        .map(|line| line.replace("path = \"app/contract\"", "path = \"bgd-contract\""))
        .collect::<Vec<_>>()
        .join("\n");
    let theirs = std::fs::read_to_string(dir.join("Cargo.toml"))
        .unwrap()
        .replace("\"ping\"]", &format!("\"ping\", {}]", readme_members()));
    std::fs::write(
        dir.join("Cargo.toml"),
        format!("{theirs}\n[workspace.package]{tables}\n"),
    )
    .unwrap();
    // 3. The contract around each service: one dependency, one line.
    for lambda in ["orders", "ping"] {
        let manifest = dir.join(lambda).join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        let text = format!("{text}bgd-contract = {{ path = \"../bgd-contract\" }}\n");
        std::fs::write(&manifest, text).unwrap();
        let main = dir.join(lambda).join("src/main.rs");
        let text = std::fs::read_to_string(&main).unwrap().replace(
            "lambda_http::run(app).await",
            "lambda_http::run(bgd_contract::Contract::from_env().layer(app).await?).await",
        );
        std::fs::write(&main, text).unwrap();
    }
}

/// 4. deploy.toml naming the Lambda (and its stack: one per Lambda).
fn deploy_toml(dir: &Path, lambda: &str, root_says: &str) {
    std::fs::write(
        dir.join("deploy.toml"),
        format!(
            "[project]\nname = \"{lambda}\"\nregion = \"us-east-1\"\n\n\
             [function]\nmemory_mb = 128\ntimeout_s = 5\n\n\
             [function.environment]\nTABLE = \"{lambda}\"\n\n\
             [app]\npackage = \"{lambda}\"\nbinary = \"{lambda}\"\nrequired_env = [\"TABLE\"]\n\n\
             [[smoke]]\npath = \"/\"\ncontains = \"{root_says}\"\n"
        ),
    )
    .unwrap();
}

/// The build cache of `from` in `to`, but for the crates that know where their workspace is
/// (`bgd-core`'s `CARGO_MANIFEST_DIR`, the contract's) and those above them: they compile
/// afresh there, as in a user's first build. Copied, they would pass cargo's freshness check in
/// the new place (same relative paths, copied times) and keep this workspace's paths.
fn seed_cache(from: &Path, to: &Path) {
    let ours = [
        "xtask",
        "bgd-core",
        "bgd_core",
        "bgd-aws",
        "bgd_aws",
        "bgd-local",
        "bgd_local",
        "bgd-sim",
        "bgd_sim",
        "bgd-contract",
        "bgd_contract",
    ];
    let theirs: Vec<PathBuf> = std::fs::read_dir(from)
        .unwrap()
        .flatten()
        .filter(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let name = name.strip_prefix("lib").unwrap_or(&name);
            !ours.iter().any(|own| name.starts_with(own))
        })
        .map(|entry| entry.path())
        .collect();
    std::fs::create_dir_all(to).unwrap();
    run(Command::new("cp").arg("-a").arg("-t").arg(to).args(theirs));
}

fn copy(from: &Path, to: &Path) {
    run(Command::new("cp").arg("-a").arg(from).arg(to));
}

fn run(command: &mut Command) -> std::process::Output {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `cargo ARGS` in `dir` as its user would run it: none of this workspace's cargo settings.
fn cargo(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or("cargo".into()));
    command.args(args).current_dir(dir);
    for var in [
        "CARGO_TARGET_DIR",
        "BGD_DEPLOY_TOML",
        "BGD_LOCAL_DIR",
        "CARGO_MANIFEST_DIR",
    ] {
        command.env_remove(var);
    }
    command
}

/// Stops the fresh workspace's local cloud, passing or not.
struct LocalDown(PathBuf);

impl Drop for LocalDown {
    fn drop(&mut self) {
        let _ = cargo(&self.0, &["xtask", "local", "down"]).output();
    }
}

// The slowest test of the suite, about 3.5 minutes on 2 cores, not gated: the fresh workspace
// compiles xtask (its dependencies come from the seeded cache) and its own release Lambda in a
// target dir of its own, which must not be this workspace's: its `debug/xtask` would replace
// the one every other test runs.
#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_workspace_adopts_bgd_by_the_readmes_steps_and_its_lambdas_go_to_green() {
    let dir = setup::target_dir().join("e2e/byol-fresh");
    fresh_workspace(&dir);
    add_bgd(&dir);
    let git = |args: &[&str]| {
        run(Command::new("git")
            .args(["-c", "user.name=e2e", "-c", "user.email=e2e@example.com"])
            .args(args)
            .current_dir(&dir))
    };
    git(&["init", "-q"]);
    // Not steps of the README: this workspace's lock and build cache as a starting point, so
    // the test resolves the versions bgd is tested with, offline, and compiles only what is
    // new (cargo still decides what is stale: a user's first build compiles everything).
    std::fs::copy(bgd_file("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    for cache in ["deps", "build", ".fingerprint"] {
        seed_cache(
            &setup::target_dir().join("debug").join(cache),
            &dir.join("target/debug").join(cache),
        );
    }

    let down = LocalDown(dir.clone());
    for (lambda, root_says) in [("orders", "orders: none yet"), ("ping", "pong")] {
        deploy_toml(&dir, lambda, root_says);
        // 5. Commit, then deploy: provision (verified on blue), then a deploy proper.
        git(&["add", "-A"]);
        git(&["commit", "-q", "-m", &format!("deploy {lambda} with bgd")]);
        let sha = String::from_utf8(git(&["rev-parse", "HEAD"]).stdout).unwrap();
        for build in [&[][..], &["--build-id", "two"]] {
            let output = cargo(&dir, &["xtask", "deploy", "--local", "--json"])
                .args(build)
                .output()
                .unwrap();
            eprintln!("{}", String::from_utf8_lossy(&output.stderr));
            assert!(
                output.status.success(),
                "deploy of {lambda} {build:?} failed"
            );
            let deployed: Value = serde_json::from_slice(&output.stdout).unwrap();
            green_serves(&deployed, sha.trim(), root_says, "/version").await;
        }
    }
    // Passed: its local cloud stops (by the xtask still built there, which knows its pids),
    // then its build cache (about 3 GB) goes; the workspace stays to look at.
    drop(down);
    std::fs::remove_dir_all(dir.join("target")).unwrap();
}

/// The members step 2 of the README's "Add bgd to your Lambda" adds, as it writes them.
fn readme_members() -> String {
    let readme = std::fs::read_to_string(bgd_file("README.md")).unwrap();
    let (_, step) = readme
        .split_once("2. In your root `Cargo.toml`: add `")
        .expect("the README's step 2 names the members to add");
    let (members, _) = step.split_once("` to").unwrap();
    let members = members.split_whitespace().collect::<Vec<_>>().join(" ");
    // Every crate under xtask/ (and the contract): a member left out fails the build there.
    for crate_dir in std::fs::read_dir(bgd_file("xtask")).unwrap().flatten() {
        if crate_dir.path().join("Cargo.toml").exists() {
            let name = crate_dir.file_name();
            let member = format!("\"xtask/{}\"", name.to_string_lossy());
            assert!(members.contains(&member), "README's step 2 misses {member}");
        }
    }
    members
}

fn bgd_file(name: &str) -> PathBuf {
    setup::workspace_root().join(name)
}
