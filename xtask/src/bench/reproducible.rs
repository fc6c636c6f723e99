//! Full mode only: the commit, cloned into two clean directories with different names (and
//! path lengths) and built there from scratch, each with its own empty target dir, must give
//! the same image digest. The clones are removed afterwards (each holds a release build).
use std::time::Instant;

use anyhow::{Context, Result};
use serde::Serialize;
use xshell::{Shell, cmd};

use crate::{
    image::{self, Binary, BuildFacts, Checkout},
    setup,
};

#[derive(Debug, Serialize)]
pub struct Figures {
    /// Both clean builds gave the same digest (and this checkout's own build, when clean).
    pub reproducible: bool,
    pub digests: Vec<String>,
    /// This checkout's build (its incremental target dir); `None` when the tree is dirty, as
    /// a dirty build is not of the commit.
    pub workspace_digest: Option<String>,
    /// Seconds per clean build (compiling every dependency).
    pub build_s: Vec<f64>,
}

/// Directory names that differ in name and length, so a leaked path would change the binary.
const CLONES: [&str; 2] = ["one", "a-second-checkout-named-otherwise"];

pub fn check(sh: &Shell, facts: &BuildFacts, workspace_digest: &str) -> Result<Figures> {
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
    let (mut digests, mut build_s) = (Vec::new(), Vec::new());
    for name in CLONES {
        let root = base.join(name);
        eprintln!(
            "bench: reproducibility, a clean build of {commit} in {}",
            root.display()
        );
        cmd!(
            sh,
            "git clone --quiet --no-hardlinks --no-checkout {source} {root}"
        )
        .run()?;
        cmd!(sh, "git -C {root} checkout --quiet --detach {commit}").run()?;
        let checkout = Checkout {
            target_dir: root.join("target"),
            root,
        };
        let facts = BuildFacts::from_git(sh, &checkout.root, None)?;
        let start = Instant::now();
        let bootstrap = image::build_release(sh, &checkout, "x86_64", &facts, Binary::Bootstrap)?;
        build_s.push(start.elapsed().as_secs_f64());
        digests.push(image::assemble_image(&bootstrap, "x86_64", &facts)?.digest());
    }
    clear()?;
    let workspace_digest = (!facts.dirty).then(|| workspace_digest.to_owned());
    Ok(Figures {
        reproducible: digests
            .iter()
            .chain(&workspace_digest)
            .all(|digest| *digest == digests[0]),
        digests,
        workspace_digest,
        build_s,
    })
}

pub fn table(f: &Figures) -> String {
    format!(
        "| reproducible build (two clean clones) | |\n|---|---|\n\
         | same image digest | {} |\n| digests | {} |\n| this checkout's build | {} |\n\
         | clean build each | {} |\n",
        if f.reproducible { "yes" } else { "**no**" },
        f.digests.join(", "),
        f.workspace_digest
            .as_deref()
            .unwrap_or("not compared: the tree has uncommitted changes"),
        f.build_s
            .iter()
            .map(|s| format!("{s:.0} s"))
            .collect::<Vec<_>>()
            .join(", "),
    )
}
