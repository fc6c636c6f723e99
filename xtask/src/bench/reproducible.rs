//! Full mode only: the commit, cloned into two clean directories with different names (and
//! path lengths) and built there from scratch for both architectures, each clone with its own
//! empty target dir, must give one image digest per architecture. The clones are removed
//! afterwards (each holds two release builds).
use std::{path::Path, time::Instant};

use anyhow::{Context, Result};
use serde::Serialize;
use xshell::{Shell, cmd};

use bgd_core::{
    config,
    facts::BuildFacts,
    image::{self, Binary, Checkout},
    setup,
};

#[derive(Debug, Serialize)]
pub(super) struct Figures {
    /// For each architecture both clean builds gave the same digest (and, for x86_64, this
    /// checkout's own build, when clean).
    pub reproducible: bool,
    pub architectures: Vec<Architecture>,
    /// This checkout's x86_64 build (its incremental target dir); `None` when the tree is
    /// dirty, as a dirty build is not of the commit.
    pub workspace_digest: Option<String>,
}

#[derive(Debug, Serialize)]
pub(super) struct Architecture {
    pub architecture: &'static str,
    /// One per clone, in the order of `CLONES`.
    pub digests: Vec<String>,
    /// Seconds per clean build (compiling every dependency for this target).
    pub build_s: Vec<f64>,
}

/// Lambda's two: the native one and the one cross-linked by zig on an x86_64 host.
const ARCHITECTURES: [&str; 2] = ["x86_64", "arm64"];

/// Directory names that differ in name and length, so a leaked path would change the binary.
const CLONES: [&str; 2] = ["one", "a-second-checkout-named-otherwise"];

pub(super) fn check(sh: &Shell, facts: &BuildFacts, workspace_digest: &str) -> Result<Figures> {
    let commit = &facts.git_sha;
    let base = setup::target_dir().join("bench/reproducible");
    let clear = || match std::fs::remove_dir_all(&base) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", base.display()))
        }
        _ => Ok(()),
    };
    clear()?;
    let source = setup::workspace_root();
    let mut architectures: Vec<Architecture> = ARCHITECTURES
        .into_iter()
        .map(|architecture| Architecture {
            architecture,
            digests: Vec::new(),
            build_s: Vec::new(),
        })
        .collect();
    for name in CLONES {
        let root = base.join(name);
        eprintln!(
            "bench: reproducibility, clean builds of {commit} in {}",
            root.display()
        );
        clone(sh, source, &root, commit)?;
        let checkout = Checkout {
            target_dir: root.join("target"),
            root,
        };
        let facts = BuildFacts::from_git(sh, &checkout.root, None)?;
        for arch in &mut architectures {
            let start = Instant::now();
            let bootstrap = image::build_release(
                sh,
                &checkout,
                arch.architecture,
                &facts,
                Binary::Lambda(&config::App::default()),
            )?;
            arch.build_s.push(start.elapsed().as_secs_f64());
            let image = image::assemble_image(&bootstrap, arch.architecture, &facts)?;
            arch.digests.push(image.digest());
        }
    }
    clear()?;
    let workspace_digest = (!facts.dirty).then(|| workspace_digest.to_owned());
    let reproducible = architectures.iter().all(|arch| {
        let native = (arch.architecture == "x86_64").then_some(&workspace_digest);
        arch.digests
            .iter()
            .chain(native.into_iter().flatten())
            .all(|digest| *digest == arch.digests[0])
    });
    Ok(Figures {
        reproducible,
        architectures,
        workspace_digest,
    })
}

/// `commit` of the repository at `source`, checked out at `root` with nothing shared.
pub(super) fn clone(sh: &Shell, source: &Path, root: &Path, commit: &str) -> Result<()> {
    cmd!(
        sh,
        "git clone --quiet --no-hardlinks --no-checkout {source} {root}"
    )
    .run()?;
    cmd!(sh, "git -C {root} checkout --quiet --detach {commit}").run()?;
    Ok(())
}

pub(super) fn table(f: &Figures) -> String {
    let mut out = format!(
        "| reproducible build (two clean clones) | |\n|---|---|\n| same image digest | {} |\n",
        if f.reproducible { "yes" } else { "**no**" },
    );
    for arch in &f.architectures {
        let seconds: Vec<String> = arch.build_s.iter().map(|s| format!("{s:.0} s")).collect();
        out.push_str(&format!(
            "| {} digests | {} |\n| {} clean build each | {} |\n",
            arch.architecture,
            arch.digests.join(", "),
            arch.architecture,
            seconds.join(", "),
        ));
    }
    out.push_str(&format!(
        "| this checkout's x86_64 build | {} |\n",
        f.workspace_digest
            .as_deref()
            .unwrap_or("not compared: the tree has uncommitted changes")
    ));
    out
}
