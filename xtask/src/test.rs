//! `cargo xtask test`: the README's test command. Installs what the tests need on a fresh
//! machine, builds the release `bootstrap` and the sandbox fixtures the end-to-end tests run,
//! then runs every test.
use anyhow::{Context, Result};
use xshell::{Shell, cmd};

use crate::flags;
use bgd_core::{config::Config, facts::BuildFacts, image, setup};

/// The most runs each mutant's batch may take: the promise, every mutant caught within
/// 5,000.
const MUTANT_RUNS: u64 = 5_000;

impl flags::Test {
    pub fn run(self, runtime: &tokio::runtime::Runtime) -> Result<()> {
        let sh = Shell::new()?;
        sh.change_dir(setup::workspace_root());
        // Before the tests, which start local clouds in parallel, would each wait for it.
        setup::ensure_moto(&sh)?;
        setup::ensure_debian_package(&sh, "docker-registry", "/usr/bin/docker-registry")?;
        // The same build as a deploy's (flags, remapped paths), so tests run what ships.
        let facts = BuildFacts::from_git(&sh, setup::workspace_root(), None)?;
        image::build_bootstrap(&sh, &Config::load()?.app, "x86_64", &facts)?;
        // The sandbox tests' host-only functions, static and glibc-linked (std only: seconds).
        setup::ensure_debian_package(&sh, "bubblewrap", "/usr/bin/bwrap")?;
        // The arm64 pipeline test runs its bootstrap under qemu-user on an x86_64 host.
        bgd_local::ensure_emulator(&sh)?;
        for target in ["x86_64-unknown-linux-musl", "x86_64-unknown-linux-gnu"] {
            cmd!(sh, "cargo build -p sandbox-fixtures --target {target}")
                .run()
                .with_context(|| format!("building the sandbox fixtures for {target}"))?;
        }

        // Seconds on one local cloud of its own; its failures are named beside the tests'.
        let conformance = runtime.block_on(flags::Conformance { filter: None }.run());
        // The simulation's oracle proven by planted bugs (about 2 minutes, the planted copy's
        // build included): a mutant neither its batch nor a scenario catches fails the run.
        let mutants = crate::sim::mutants(MUTANT_RUNS);
        let args = self.cargo_args;
        // Every test binary runs even after one fails: one run names every failure.
        eprintln!("test: running cargo test --workspace --no-fail-fast");
        cmd!(sh, "cargo test --workspace --no-fail-fast -- {args...}")
            .run()
            .context("cargo test failed (the lines above name the failing tests)")?;
        conformance?;
        mutants.context("a bug planted in the pipeline went uncaught: cargo xtask sim --mutants")
    }
}
