//! Installs what the tooling needs on a fresh machine, idempotently, saying what it does:
//! the musl target, the pinned Python tools (moto, cargo-lambda, zig) in venvs every checkout
//! shares, and Debian packages (qemu-user's static emulators among them).
use std::{
    ffi::OsString,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use xshell::{Shell, cmd};

/// The workspace root (the folder holding deploy.toml).
pub fn workspace_root() -> &'static Path {
    // This crate is xtask/core.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("xtask/core sits in the workspace")
}

/// The conformance suite's cases (`tests/conformance/cases/SERVICE.json`, the format
/// `bgd_rules::conformance` reads), each with its service, in file order.
pub fn conformance_cases() -> Result<Vec<(String, bgd_rules::conformance::Case)>> {
    let dir = workspace_root().join("tests/conformance/cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|f| f.extension().is_some_and(|e| e == "json"));
    files.sort();
    let mut cases = Vec::new();
    for file in files {
        let service = file
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let listed: Vec<bgd_rules::conformance::Case> =
            serde_json::from_str(&std::fs::read_to_string(&file)?)
                .with_context(|| format!("reading the cases of {}", file.display()))?;
        cases.extend(listed.into_iter().map(|case| (service.clone(), case)));
    }
    Ok(cases)
}

/// The shared target dir, honouring `CARGO_TARGET_DIR`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// The rust target triple for a Lambda architecture (`x86_64` or `arm64`).
pub(crate) fn musl_target(architecture: &str) -> Result<&'static str> {
    match architecture {
        "x86_64" => Ok("x86_64-unknown-linux-musl"),
        "arm64" => Ok("aarch64-unknown-linux-musl"),
        other => bail!(
            "architecture {other:?} is not one Lambda runs: use \"x86_64\" or \"arm64\" in deploy.toml [function]"
        ),
    }
}

pub(crate) fn ensure_rust_target(sh: &Shell, triple: &str) -> Result<()> {
    let installed = cmd!(sh, "rustup target list --installed")
        .quiet()
        .read()
        .context("listing rust targets (is rustup installed?)")?;
    if installed.lines().any(|line| line.trim() == triple) {
        return Ok(());
    }
    eprintln!("setup: installing the rust target {triple} (rustup target add)");
    cmd!(sh, "rustup target add {triple}")
        .run()
        .with_context(|| format!("rustup target add {triple}"))
}

/// The Python tools are pinned, so one install serves every checkout of this machine: a fresh
/// clone reuses them instead of running pip again (about 22 s), and zig keeps one cache of the
/// musl libc it compiles (zig keys that cache by its own path: a zig under each clone's target/
/// rebuilt libc, about 50 s of CPU, in every fresh clone). `BGD_TOOLS_DIR` moves them.
pub(crate) fn tools_dir() -> PathBuf {
    tools_dir_in(|name| std::env::var_os(name))
}

fn tools_dir_in(var: impl Fn(&str) -> Option<OsString>) -> PathBuf {
    if let Some(dir) = var("BGD_TOOLS_DIR") {
        return PathBuf::from(dir);
    }
    var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|home| Path::new(&home).join(".cache")))
        .map(|cache| cache.join("bgd-tools"))
        .unwrap_or_else(|| target_dir().join("local/tools"))
}

/// moto's server, for the local cloud's control plane; the strict front is tested against
/// the moto these pins name.
const MOTO: &str = include_str!("../tools/moto.txt");
/// cargo-lambda (`cargo lambda watch`), for the bench's gateway comparison and for running the
/// app on its own.
const CARGO_LAMBDA: &str = include_str!("../tools/cargo-lambda.txt");
/// The linker for both architectures, pinned: cargo-zigbuild links the musl `bootstrap` with
/// zig's `cc`, so an x86_64 host builds arm64 too, and the bytes depend on these pins rather
/// than on the host's gcc and binutils (or their absence on macOS).
const ZIG: &str = include_str!("../tools/zig.txt");

/// The venv a requirements file installs into: `LABEL-HASH`, the hash of the file's text. A
/// changed pin is another venv, so a checkout at another commit never reinstalls one a run of
/// this one is using (moto serving, zig linking). Refuses a requirement with no hash: pip would
/// take whatever the index serves for it, and with `--require-hashes` pip checks every line.
fn venv_name(label: &str, requirements: &str) -> Result<String> {
    // A requirement and its `--hash` options are one logical line, continued by `\`.
    let joined = requirements.replace("\\\n", " ");
    let unhashed: Vec<&str> = joined
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter(|line| !line.is_empty() && !line.contains("--hash=sha256:"))
        .collect();
    if !unhashed.is_empty() {
        bail!(
            "the requirements of {label} pin {} by no hash: regenerate them with `pip-compile --generate-hashes`",
            unhashed.join(", ")
        );
    }
    let digest = hex::encode(Sha256::digest(requirements.as_bytes()));
    Ok(format!("{label}-{}", &digest[..12]))
}

/// A venv of a requirements file under [`tools_dir`], named by [`venv_name`], created on first
/// use and never changed after; a lock file serialises two runs installing it at once. pip
/// installs with `--require-hashes`: only the very wheels the file names, nothing else, and
/// no dependency it leaves out. Returns the venv's `bin` directory.
fn ensure_pinned_venv(sh: &Shell, label: &str, requirements: &str) -> Result<PathBuf> {
    let tools = tools_dir();
    let name = venv_name(label, requirements)?;
    let venv = tools.join(&name);
    let marker = venv.join(".installed");
    if marker.exists() {
        return Ok(venv.join("bin"));
    }
    std::fs::create_dir_all(&tools).with_context(|| format!("creating {}", tools.display()))?;
    let lock = std::fs::File::create(tools.join(format!("{name}.lock")))?;
    lock.lock()
        .with_context(|| format!("locking the install of {name}"))?;
    if !marker.exists() {
        if !venv.join("bin/python").exists() {
            eprintln!("setup: creating a Python venv at {}", venv.display());
            cmd!(sh, "python3 -m venv {venv}")
                .run()
                .context("python3 -m venv (install python3 and python3-venv)")?;
        }
        eprintln!("setup: installing {label} into it (pip, once per machine)");
        let pip = venv.join("bin/pip");
        let file = venv.join("requirements.txt");
        std::fs::write(&file, requirements)?;
        cmd!(
            sh,
            "{pip} install --quiet --disable-pip-version-check --require-hashes --only-binary :all: -r {file}"
        )
        .run()
        .with_context(|| format!("pip install {label} into {}", venv.display()))?;
        std::fs::write(&marker, "")?;
    }
    Ok(venv.join("bin"))
}

/// moto's server, for the local cloud's control plane; returns the venv's `bin` directory.
pub fn ensure_moto(sh: &Shell) -> Result<PathBuf> {
    ensure_pinned_venv(sh, "moto", MOTO)
}

/// cargo-lambda, for the bench and for running the app on its own; returns the venv's `bin`
/// directory.
pub fn ensure_cargo_lambda(sh: &Shell) -> Result<PathBuf> {
    ensure_pinned_venv(sh, "cargo-lambda", CARGO_LAMBDA)
}

/// zig and cargo-zigbuild in a venv of their own (a build needs neither moto nor
/// cargo-lambda); returns its `bin` directory, which holds `cargo-zigbuild` and the `python3`
/// it finds zig through.
pub(crate) fn ensure_zig(sh: &Shell) -> Result<PathBuf> {
    ensure_pinned_venv(sh, "zig", ZIG)
}

/// How often `apt-get update` is tried, 10 s apart, while another apt run holds its lock.
const APT_TRIES: u32 = 30;

/// Installs a Debian package when `binary` is missing: with apt-get when root on Debian,
/// otherwise stops and says what to install.
pub fn ensure_debian_package(sh: &Shell, package: &str, binary: &str) -> Result<()> {
    if Path::new(binary).exists() {
        return Ok(());
    }
    let is_root = cmd!(sh, "id -u").quiet().read().is_ok_and(|uid| uid == "0");
    if !is_root || !Path::new("/usr/bin/apt-get").exists() {
        bail!(
            "{binary} is missing: install the Debian package {package} (sudo apt-get install {package}) and run again"
        );
    }
    eprintln!("setup: installing the Debian package {package} (apt-get)");
    let _frontend = sh.push_env("DEBIAN_FRONTEND", "noninteractive");
    // Another apt run (an unattended upgrade, a second clone's set-up) holds apt's locks for
    // a while: wait for them rather than give up at once (adversarial-3 m15). apt waits for
    // dpkg's lock by this option; `update`, which takes the lists lock, is tried again.
    let wait = "DPkg::Lock::Timeout=300";
    let mut tries = 1;
    while let Err(e) = cmd!(sh, "apt-get -o {wait} update -qq").run() {
        if tries == APT_TRIES {
            return Err(e).context(format!("apt-get update failed {APT_TRIES} times"));
        }
        tries += 1;
        eprintln!(
            "setup: apt-get update failed (another apt run may hold its lock): trying again in 10 s"
        );
        std::thread::sleep(std::time::Duration::from_secs(10));
    }
    if Path::new(binary).exists() {
        return Ok(()); // the other run installed it meanwhile
    }
    cmd!(sh, "apt-get -o {wait} install -y -qq {package}")
        .run()
        .with_context(|| format!("apt-get install {package}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Before: moto was the one line `moto[server]==5.2.5`, no hash, so pip took whatever
    // the index served for it and for each of its 59 dependencies.
    #[test]
    fn every_python_tool_pins_every_package_by_hash() {
        for (label, requirements) in [("moto", MOTO), ("cargo-lambda", CARGO_LAMBDA), ("zig", ZIG)]
        {
            venv_name(label, requirements).unwrap();
        }
        assert!(
            MOTO.contains("\nmoto==5.2.5 \\\n"),
            "the moto the front is tested against"
        );
    }

    #[test]
    fn a_requirement_without_a_hash_is_refused_before_pip_runs() {
        let hashed = "six==1.17.0 \\\n    --hash=sha256:4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274\n";
        venv_name("t", hashed).unwrap();
        let error = venv_name("t", &format!("{hashed}# a comment\nidna==3.21\n")).unwrap_err();
        assert!(
            error.to_string().contains("pin idna==3.21 by no hash"),
            "{error}"
        );
    }

    // A checkout at another commit, whose pins differ, installs beside this one's venv rather
    // than into it while this one's moto serves (the venv was named `moto-5.2.5`, whatever
    // the pins of its dependencies).
    #[test]
    fn a_changed_pin_is_another_venv() {
        let one = venv_name("moto", MOTO).unwrap();
        let other = venv_name("moto", &MOTO.replacen("sha256:", "sha256:0", 1)).unwrap();
        assert!(one.starts_with("moto-") && other.starts_with("moto-"));
        assert_ne!(one, other);
        assert_eq!(one, venv_name("moto", MOTO).unwrap());
    }

    // Before: zig lived in `target/local/zig` of each checkout, so this failed on its first
    // assert, and every fresh clone compiled zig's musl libc again (zig keys that cache by its
    // own path).
    #[test]
    fn the_tools_live_per_user_whatever_the_checkout_or_its_target_dir() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                let value = vars.iter().find(|(key, _)| *key == name)?.1;
                Some(OsString::from(value))
            }
        };
        let one = tools_dir_in(env(&[
            ("HOME", "/home/u"),
            ("CARGO_TARGET_DIR", "/a/target"),
        ]));
        let other = tools_dir_in(env(&[("HOME", "/home/u"), ("CARGO_TARGET_DIR", "/b/t")]));
        assert_eq!(one, other);
        assert_eq!(one, Path::new("/home/u/.cache/bgd-tools"));
        let xdg = env(&[("HOME", "/home/u"), ("XDG_CACHE_HOME", "/var/cache/u")]);
        assert_eq!(tools_dir_in(xdg), Path::new("/var/cache/u/bgd-tools"));
        let moved = env(&[("HOME", "/home/u"), ("BGD_TOOLS_DIR", "/opt/tools")]);
        assert_eq!(tools_dir_in(moved), Path::new("/opt/tools"));
    }
}
