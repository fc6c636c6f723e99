//! Bakes the build facts into the binary at compile time: git sha, dirty flag, commit time
//! (never the wall clock, so one commit gives the same bytes), the env var names that
//! deploy.toml declares as required, and the paths it declares for the contract. `cargo xtask build` passes the facts in `APP_GIT_SHA`,
//! `APP_GIT_DIRTY`, `APP_BUILT_AT` (and optionally `APP_BUILD_ID`); a plain cargo build asks git.
//! Here, in the contract and not in the user's crate, so a Lambda that adopts the layer needs
//! no build script of its own.
use std::{
    env, fs,
    path::{Path, PathBuf},
    process::Command,
};

fn main() {
    let manifest_dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    // The workspace that holds deploy.toml: this crate may sit at any depth in it (bgd's
    // `app/contract/`, or wherever an adopting workspace copied it).
    let deploy_toml = Path::new(&manifest_dir)
        .ancestors()
        .map(|dir| dir.join("deploy.toml"))
        .find(|path| path.is_file());
    let root = deploy_toml
        .as_deref()
        .and_then(Path::parent)
        .map_or_else(|| PathBuf::from(&manifest_dir), Path::to_path_buf);
    bake_build_facts(root.as_path());
    bake_app(deploy_toml.as_deref());
}

/// The commit's facts, from `cargo xtask build`'s variables or else from git.
fn bake_build_facts(root: &Path) {
    for var in [
        "APP_GIT_SHA",
        "APP_GIT_DIRTY",
        "APP_BUILT_AT",
        "APP_BUILD_ID",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    // `cargo xtask build` passes the facts; only a plain cargo build watches git itself.
    if env::var_os("APP_GIT_SHA").is_none() {
        for path in ["HEAD", "index", "packed-refs"] {
            if let Some(p) = git(root, &["rev-parse", "--git-path", path]) {
                println!("cargo:rerun-if-changed={}", root.join(p).display());
            }
        }
        if let Some(reference) = git(root, &["symbolic-ref", "-q", "HEAD"])
            && let Some(p) = git(root, &["rev-parse", "--git-path", &reference])
        {
            println!("cargo:rerun-if-changed={}", root.join(p).display());
        }
    }

    let sha = env::var("APP_GIT_SHA")
        .ok()
        .or_else(|| git(root, &["rev-parse", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    let dirty = env::var("APP_GIT_DIRTY").ok().unwrap_or_else(|| {
        git(root, &["status", "--porcelain", "--untracked-files=no"])
            .map(|s| (!s.is_empty()).to_string())
            .unwrap_or_else(|| "false".into())
    });
    let built_at = env::var("APP_BUILT_AT")
        .ok()
        .or_else(|| {
            git(
                root,
                &[
                    "log",
                    "-1",
                    "--date=format-local:%Y-%m-%dT%H:%M:%SZ",
                    "--format=%cd",
                ],
            )
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into());
    println!("cargo:rustc-env=APP_GIT_SHA={sha}");
    println!("cargo:rustc-env=APP_GIT_DIRTY={dirty}");
    println!("cargo:rustc-env=APP_BUILT_AT={built_at}");
    println!(
        "cargo:rustc-env=APP_BUILD_ID={}",
        env::var("APP_BUILD_ID").unwrap_or_default()
    );
}

/// deploy.toml's `[app]`: the required names and the contract's paths.
fn bake_app(deploy_toml: Option<&Path>) {
    // The workspace's deploy.toml only, never `BGD_DEPLOY_TOML`: the image must not depend on
    // which deploy.toml a run names, or a build from source would differ from the same
    // commit's image built before (the bench's no-op deploy from source caught it).
    let app = match deploy_toml {
        Some(path) => {
            println!("cargo:rerun-if-changed={}", path.display());
            app_section(path)
        }
        None => toml::Table::new(),
    };
    println!(
        "cargo:rustc-env=APP_REQUIRED_ENV={}",
        required_env(&app).join(",")
    );
    // Where the contract answers, declared once in deploy.toml: `cargo xtask` asks the same.
    for (key, var, default) in [
        ("version_path", "APP_VERSION_PATH", "/version"),
        ("health_path", "APP_HEALTH_PATH", "/health"),
    ] {
        let path = match app.get(key) {
            None => default,
            Some(toml::Value::String(path)) if path.starts_with('/') => path,
            Some(other) => {
                panic!("deploy.toml: [app] {key} must be a path like \"{default}\", got {other}")
            }
        };
        println!("cargo:rustc-env={var}={path}");
    }
}

/// `[app]` of deploy.toml; a broken file fails the build with its own message.
fn app_section(deploy_toml: &Path) -> toml::Table {
    let Ok(text) = fs::read_to_string(deploy_toml) else {
        return toml::Table::new();
    };
    let mut doc: toml::Table = text
        .parse()
        .unwrap_or_else(|e| panic!("{}: {e}", deploy_toml.display()));
    match doc.remove("app") {
        Some(toml::Value::Table(app)) => app,
        _ => toml::Table::new(),
    }
}

/// `[app] required_env`: the names `/health` reports missing.
fn required_env(app: &toml::Table) -> Vec<String> {
    let names = app
        .get("required_env")
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_default();
    names
        .into_iter()
        .map(|v| match v {
            toml::Value::String(s) if !s.is_empty() && !s.contains(',') => s,
            other => panic!("deploy.toml: [app] required_env must list env var names, got {other}"),
        })
        .collect()
}

fn git(root: &Path, args: &[&str]) -> Option<String> {
    // Without optional locks, `git status` leaves the index alone (else it rewrites it, and
    // the rerun-if-changed on the index would rebuild the app every time).
    let out = Command::new("git")
        .arg("--no-optional-locks")
        .args(args)
        .current_dir(root)
        .env("TZ", "UTC")
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
