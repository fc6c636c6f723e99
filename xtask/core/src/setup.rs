//! Installs what the tooling needs on a fresh machine, idempotently, saying what it does:
//! the musl target, the pinned Python tools (moto, cargo-lambda, zig) in venvs every checkout
//! shares, and Debian packages (qemu-user's static emulators among them).
use std::{
    ffi::OsString,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

/// The moto the local cloud runs; the strict front is tested against this version.
pub(crate) const MOTO: &str = "moto[server]==5.2.5";
pub(crate) const CARGO_LAMBDA: &str = "cargo-lambda==1.9.2";

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

/// A requirement pip installs: `name==version`, and the sha256 of each wheel it may take
/// (none: pip resolves it and its dependencies unchecked).
type Pin<'a> = (&'a str, &'a [&'a str]);

/// A venv named after its pins under [`tools_dir`], created on first use (another pin is
/// another venv, so two checkouts at different commits never rewrite each other's). A lock
/// file serialises two runs installing it at once; returns its `bin` directory. Pins with
/// hashes install with `--require-hashes`: only those very wheels, nothing else.
fn ensure_pinned_venv(sh: &Shell, name: &str, pins: &[Pin<'_>]) -> Result<PathBuf> {
    let tools = tools_dir();
    let venv = tools.join(name);
    let marker = venv.join(".installed");
    let packages: Vec<&str> = pins.iter().map(|(package, _)| *package).collect();
    let requirements: String = pins
        .iter()
        .map(|(package, hashes)| {
            let hashes: String = hashes
                .iter()
                .map(|h| format!(" --hash=sha256:{h}"))
                .collect();
            format!("{package}{hashes}\n")
        })
        .collect();
    let hashed = pins.iter().all(|(_, hashes)| !hashes.is_empty());
    let installed =
        || std::fs::read_to_string(&marker).ok().as_deref() == Some(requirements.as_str());
    if installed() {
        return Ok(venv.join("bin"));
    }
    std::fs::create_dir_all(&tools).with_context(|| format!("creating {}", tools.display()))?;
    let lock = std::fs::File::create(tools.join(format!("{name}.lock")))?;
    lock.lock()
        .with_context(|| format!("locking the install of {name}"))?;
    if !installed() {
        if !venv.join("bin/python").exists() {
            eprintln!("setup: creating a Python venv at {}", venv.display());
            cmd!(sh, "python3 -m venv {venv}")
                .run()
                .context("python3 -m venv (install python3 and python3-venv)")?;
        }
        eprintln!(
            "setup: installing {} into it (pip, once per machine)",
            packages.join(" ")
        );
        let pip = venv.join("bin/pip");
        let file = venv.join("requirements.txt");
        std::fs::write(&file, &requirements)?;
        let checked: &[&str] = if hashed {
            &["--require-hashes", "--no-deps", "--only-binary", ":all:"]
        } else {
            &[]
        };
        cmd!(
            sh,
            "{pip} install --quiet --disable-pip-version-check {checked...} -r {file}"
        )
        .run()
        .with_context(|| format!("pip install {} into {}", packages.join(" "), venv.display()))?;
        std::fs::write(&marker, &requirements)?;
    }
    Ok(venv.join("bin"))
}

/// moto's server, for the local cloud's control plane; returns the venv's `bin` directory.
pub fn ensure_moto(sh: &Shell) -> Result<PathBuf> {
    ensure_pinned_venv(sh, &format!("moto-{}", version_of(MOTO)), &[(MOTO, &[])])
}

/// cargo-lambda (`cargo lambda watch`), for the bench's gateway comparison and for running the
/// app on its own; returns the venv's `bin` directory.
pub fn ensure_cargo_lambda(sh: &Shell) -> Result<PathBuf> {
    let name = format!("cargo-lambda-{}", version_of(CARGO_LAMBDA));
    ensure_pinned_venv(sh, &name, &[(CARGO_LAMBDA, &[])])
}

/// The linker for both architectures, pinned: cargo-zigbuild links the musl `bootstrap` with
/// zig's `cc`, so an x86_64 host builds arm64 too, and the bytes depend on these pins rather
/// than on the host's gcc and binutils (or their absence on macOS).
pub(crate) const ZIG: &str = "ziglang==0.17.1";
pub(crate) const CARGO_ZIGBUILD: &str = "cargo-zigbuild==0.24.0";
/// Every wheel PyPI has of them for Linux (x86_64, aarch64) and macOS, by sha256 (read with
/// `pip download --no-deps --only-binary :all: --platform P`, 2026-12-07): zig links the
/// shipped `bootstrap`, so only these very wheels install (security-audit-3 #21).
const ZIG_WHEELS: [&str; 4] = [
    "ea6cc5d87b033cf0aedfbc8f9549a908cae6c50ac31f1698188fa48a74524b54",
    "b7c5f02fccd40f89b999ee16a1f5ddced56e6182370f8affe494bcf8a28cf07e",
    "09953b6af7f64168b915180a42774f520f92d86ef6331b28e33915c7e1f0bb23",
    "4e0b4b9c02b8d0d220e9948010f860b62ff11d96abb39762eca5fa2ef3f7bc97",
];
const CARGO_ZIGBUILD_WHEELS: [&str; 3] = [
    "484412e39e4c6039474535ce97ee75a22bab22d58233056f8ec8a8f9034bb957",
    "6942e4320f7b05d8fb29e0a8ce5670bcbb3d254275100b85b5b7c86552f9a744",
    "b576e8b95ff199eedee0e57afcdbaff7579744916261483280d350b9a35711fd",
];

/// zig and cargo-zigbuild in a venv of their own (a build needs neither moto nor
/// cargo-lambda); returns its `bin` directory, which holds `cargo-zigbuild` and the `python3`
/// it finds zig through.
pub(crate) fn ensure_zig(sh: &Shell) -> Result<PathBuf> {
    let name = format!(
        "zig-{}-cargo-zigbuild-{}",
        version_of(ZIG),
        version_of(CARGO_ZIGBUILD)
    );
    let pins: [Pin<'_>; 2] = [(ZIG, &ZIG_WHEELS), (CARGO_ZIGBUILD, &CARGO_ZIGBUILD_WHEELS)];
    ensure_pinned_venv(sh, &name, &pins)
}

/// `1.2.3` of a pip requirement `name==1.2.3`.
fn version_of(requirement: &str) -> &str {
    requirement
        .split_once("==")
        .map_or(requirement, |(_, version)| version)
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
