//! Compiles the release binary deploy.toml names (`[app] package` and `binary`) with the build
//! facts of the commit and packs it as the image's `/bootstrap`.
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use xshell::{Shell, cmd};

use super::{Contents, Image};
use crate::facts::{BuildFacts, Origin};
use crate::{
    config::{self, Config},
    setup,
};

/// Where a build reads its sources and where cargo writes: this workspace, or a clean clone
/// elsewhere (the bench's reproducibility check).
#[derive(Debug, Clone)]
pub struct Checkout {
    pub root: PathBuf,
    pub target_dir: PathBuf,
}

impl Checkout {
    /// This workspace, with the target dir cargo uses for it.
    pub fn this() -> Self {
        Self {
            root: setup::workspace_root().to_owned(),
            target_dir: setup::target_dir(),
        }
    }
}

/// A release binary of the workspace.
#[derive(Debug, Clone, Copy)]
pub enum Binary<'a> {
    /// The function itself: deploy.toml's `[app] package` and `binary`.
    Lambda(&'a config::App),
    /// `app/examples/hello.rs`, the bare lambda_http yardstick of `bench`.
    Hello,
}

/// `cargo zigbuild --locked --release` of the function for its architecture, with the facts baked
/// in and paths remapped, so the binary depends neither on where the checkout lives nor on the
/// host's toolchain beyond rustc (zig, pinned, links both architectures).
pub fn build_bootstrap(
    sh: &Shell,
    app: &config::App,
    architecture: &str,
    facts: &BuildFacts,
) -> Result<PathBuf> {
    build_release(
        sh,
        &Checkout::this(),
        architecture,
        facts,
        Binary::Lambda(app),
    )
}

pub fn build_release(
    sh: &Shell,
    checkout: &Checkout,
    architecture: &str,
    facts: &BuildFacts,
    binary: Binary<'_>,
) -> Result<PathBuf> {
    let triple = setup::musl_target(architecture)?;
    setup::ensure_rust_target(sh, triple)?;
    let zig = setup::ensure_zig(sh)?;
    let root = &checkout.root;
    let cargo_home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|home| Path::new(&home).join(".cargo")))
        .context("neither CARGO_HOME nor HOME is set")?;
    let rustflags = [
        format!("--remap-path-prefix={}=/build", root.display()),
        format!("--remap-path-prefix={}=/cargo", cargo_home.display()),
    ]
    .join("\x1f");
    // cargo-zigbuild and the python3 that finds zig come first.
    let path = std::env::join_paths(std::iter::once(zig).chain(std::env::split_paths(
        &sh.var_os("PATH").unwrap_or_default(),
    )))?;
    let _dir = sh.push_dir(root);
    let _env = [
        sh.push_env("PATH", path),
        sh.push_env("CARGO_TARGET_DIR", &checkout.target_dir),
        sh.push_env("CARGO_ENCODED_RUSTFLAGS", rustflags),
        sh.push_env("APP_GIT_SHA", &facts.git_sha),
        sh.push_env("APP_GIT_DIRTY", facts.dirty.to_string()),
        sh.push_env("APP_BUILT_AT", &facts.built_at),
        sh.push_env(
            "APP_BUILD_ID",
            facts.build_id.as_deref().unwrap_or_default(),
        ),
    ];
    let (package, selector, relative) = match binary {
        Binary::Lambda(app) => (
            app.package.as_str(),
            ["--bin", app.binary.as_str()],
            format!("release/{}", app.binary),
        ),
        Binary::Hello => (
            "app",
            ["--example", "hello"],
            "release/examples/hello".into(),
        ),
    };
    eprintln!(
        "build: compiling the release {} of {package} for {triple}",
        selector[1]
    );
    // Linked by zig for both architectures: arm64 from any host, and the same linker everywhere.
    // From the committed lock: the image is built from what was reviewed, never re-resolved
    // (security-audit-3 #7).
    cmd!(
        sh,
        "cargo zigbuild --locked --release --package {package} {selector...} --target {triple}"
    )
    .run()
    .with_context(|| {
        format!("compiling {package}'s {} (the errors above say where; deploy.toml [app] package and binary name it)", selector[1])
    })?;
    Ok(checkout.target_dir.join(triple).join(relative))
}

/// What `build` wrote: the image's digest and sizes, and the facts it was built from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Built {
    pub digest: String,
    pub bootstrap_bytes: u64,
    pub layer_bytes: u64,
    pub facts: BuildFacts,
    /// Set when the image was taken from another environment rather than built here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
}

/// Beside the OCI layout: the facts `deploy --image DIR` verifies blue against.
const FACTS_FILE: &str = "bgd-build.json";

impl Built {
    pub fn read(dir: &Path) -> Result<(Self, Image)> {
        let image = Image::read_layout(dir)?;
        let path = dir.join(FACTS_FILE);
        let built: Self = serde_json::from_slice(
            &std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?,
        )?;
        anyhow::ensure!(
            built.digest == image.digest(),
            "{} does not describe the image beside it: rebuild with `cargo xtask build`",
            path.display()
        );
        Ok((built, image))
    }
}

/// Builds the image of the current commit into `out`.
pub fn build_image(
    sh: &Shell,
    config: &Config,
    build_id: Option<String>,
    out: &Path,
) -> Result<(Built, Image)> {
    let facts = BuildFacts::from_git(sh, setup::workspace_root(), build_id)?;
    let architecture = &config.function.architecture;
    let image = assemble_image(
        &build_bootstrap(sh, &config.app, architecture, &facts)?,
        architecture,
        &facts,
    )?;
    image.write_layout(out)?;
    let built = Built::record(out, &image, facts)?;
    Ok((built, image))
}

/// The image of a built `bootstrap`, stamped with the commit's facts; it reads no other file.
pub fn assemble_image(bootstrap: &Path, architecture: &str, facts: &BuildFacts) -> Result<Image> {
    let bootstrap =
        std::fs::read(bootstrap).with_context(|| format!("reading {}", bootstrap.display()))?;
    let contents = Contents {
        bootstrap: &bootstrap,
        ca_bundle: &super::ca_bundle(),
    };
    Image::assemble(&contents, architecture, &facts.built_at, facts.commit_epoch)
}

impl Built {
    /// Writes the facts beside the image layout in `out`, whichever builder made it.
    pub fn record(out: &Path, image: &Image, facts: BuildFacts) -> Result<Self> {
        Self::write(out, image, facts, None)
    }

    /// The same for an image taken from another environment: the facts its record there gives.
    pub fn promoted(out: &Path, image: &Image, facts: BuildFacts, origin: Origin) -> Result<Self> {
        Self::write(out, image, facts, Some(origin))
    }

    fn write(out: &Path, image: &Image, facts: BuildFacts, origin: Option<Origin>) -> Result<Self> {
        let built = Built {
            digest: image.digest(),
            bootstrap_bytes: image.bootstrap_bytes()?,
            layer_bytes: image.layer.len() as u64,
            facts,
            origin,
        };
        std::fs::write(out.join(FACTS_FILE), serde_json::to_vec_pretty(&built)?)?;
        Ok(built)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use base64::Engine;

    use super::*;

    /// The files of an image's layer, by path.
    fn layer_files(image: &Image) -> Vec<(String, Vec<u8>)> {
        let gzip = flate2::read::GzDecoder::new(image.layer.as_slice());
        let mut archive = tar::Archive::new(gzip);
        let entries = archive.entries().unwrap();
        entries
            .map(|entry| {
                let mut entry = entry.unwrap();
                let mut data = Vec::new();
                entry.read_to_end(&mut data).unwrap();
                (entry.path().unwrap().display().to_string(), data)
            })
            .collect()
    }

    // Before: the layer held the host's /etc/ssl/certs/ca-certificates.crt (Debian's order and
    // set, so this failed on the last assert; on macOS the build failed reading it).
    #[test]
    fn the_ca_bundle_is_the_pinned_mozilla_roots_never_the_hosts() {
        let dir = std::env::temp_dir().join(format!("bgd-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bootstrap = dir.join("bootstrap");
        std::fs::write(&bootstrap, b"binary").unwrap();
        let facts = BuildFacts {
            git_sha: "0".repeat(40),
            dirty: false,
            built_at: "2026-01-02T03:04:05Z".into(),
            commit_epoch: 1_767_323_045,
            build_id: None,
        };
        let image = assemble_image(&bootstrap, "x86_64", &facts).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();

        let files = layer_files(&image);
        let (_, bundle) = files
            .iter()
            .find(|(path, _)| path == crate::image::CA_BUNDLE_PATH)
            .expect("the layer holds the CA bundle");
        // Each PEM block decodes to the crate's root at the same place: the bundle is a
        // function of Cargo.lock alone, so the digest is the same on every host.
        let pem = std::str::from_utf8(bundle).unwrap();
        let decoded: Vec<Vec<u8>> = pem
            .split("-----END CERTIFICATE-----\n")
            .filter(|block| !block.is_empty())
            .map(|block| {
                let body = block.strip_prefix("-----BEGIN CERTIFICATE-----\n").unwrap();
                assert!(body.lines().all(|line| line.len() <= 64), "{body}");
                base64::engine::general_purpose::STANDARD
                    .decode(body.replace('\n', ""))
                    .unwrap()
            })
            .collect();
        let pinned: Vec<Vec<u8>> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|root| root.to_vec())
            .collect();
        assert!(pinned.len() > 100, "{} roots", pinned.len());
        assert!(
            decoded == pinned,
            "the layer's bundle holds {} certificates, not the {} pinned roots in their order",
            decoded.len(),
            pinned.len()
        );
    }
}
