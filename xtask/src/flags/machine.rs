//! The flags of the verbs that work on this machine alone, no AWS: the image build, the local
//! cloud, the tests, the conformance suite, the simulation and the bench.
use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct Sim {
    /// How many runs (seeds SEED, SEED+1, ...)
    #[arg(long, default_value_t = 1000)]
    pub runs: u64,
    /// The first run's seed: the same seed replays the same run, byte for byte
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How many verbs run at once in each run (deploys, rollbacks, unpins, reads)
    #[arg(long, default_value_t = 3)]
    pub actors: usize,
    /// Start each run from a just-provisioned stack (default: one deploy after provision, so
    /// rollbacks have a promotion to undo)
    #[arg(long)]
    pub fresh: bool,
    /// Print each run's step trace (every call, fault, phase and ending, on virtual time)
    #[arg(long)]
    pub trace: bool,
    /// Stop at the first run that breaks an invariant
    #[arg(long)]
    pub first_failure: bool,
    /// Plant the known bugs in a copy of the workspace, build it once and run the batch against
    /// each (--runs at most, stopping at the first violation): every mutant must be caught
    #[arg(long)]
    pub mutants: bool,
}

#[derive(Debug, Args)]
pub struct Conformance {
    /// Only the cases whose `SERVICE/NAME` contains this
    pub filter: Option<String>,
}

#[derive(Debug, Args)]
pub struct Test {
    /// Extra arguments for `cargo test`, after `--` (a test name filter, `--nocapture`, ...)
    #[arg(last = true)]
    pub cargo_args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct Local {
    #[command(subcommand)]
    pub command: LocalCommand,
}

#[derive(Debug, Subcommand)]
pub enum LocalCommand {
    /// Start moto, the registry and the gateway on 127.0.0.1 (reusing healthy ones, restarting
    /// dead ones), wait until each answers, print the endpoints
    Up(LocalUp),
    /// Stop what `up` started, by pid
    Down,
    /// Show each component, its pid, its URL and whether it answers (exit 1 unless all do)
    Status,
    /// Print `export` lines that point the aws CLI, SDKs and tests at the local cloud
    Env(LocalEnv),
    /// Serve the gateway in the foreground (what `up` runs in the background)
    #[command(hide = true)]
    Gateway(LocalGateway),
    /// Serve the strict front before moto in the foreground (what `up` runs in the background)
    #[command(hide = true)]
    Front(LocalFront),
}

/// What each of the local cloud's servers is started with.
#[derive(Debug, Args)]
pub struct LocalServer {
    /// Loopback port to serve on
    #[arg(long)]
    pub port: u16,
    /// The local cloud's state dir (the front's books; the gateway's function logs and
    /// extracted images)
    #[arg(long)]
    pub state_dir: PathBuf,
    /// The control plane's URL: moto, where the front sends calls on; the strict front before
    /// moto for the gateway (it names the registry)
    #[arg(long)]
    pub moto_url: String,
}

#[derive(Debug, Args)]
pub struct LocalFront {
    #[command(flatten)]
    pub server: LocalServer,
    /// The local registry's URL: where the front keeps every account's and region's images
    #[arg(long)]
    pub registry_url: String,
    /// The region whose default account's images keep their plain names in the registry
    /// (deploy.toml's)
    #[arg(long)]
    pub region: String,
}

#[derive(Debug, Args)]
pub struct LocalEnv {
    /// The account to act as (12 digits): the access key id names it, and LOCAL_GATEWAY_URL
    /// serves its APIs (default: the local cloud's default account)
    #[arg(long)]
    pub account: Option<String>,
    /// The region to act in (default: deploy.toml's)
    #[arg(long)]
    pub region: Option<String>,
}

#[derive(Debug, Args)]
pub struct LocalUp {
    /// Run functions as host processes, not in Lambda's sandbox (bwrap): for machines without
    /// user namespaces; host-only code then passes here and fails on Lambda. Every request
    /// line of the gateway's log says so
    #[arg(long, env = "BGD_LOCAL_UNSANDBOXED")]
    pub unsandboxed: bool,
}

#[derive(Debug, Args)]
pub struct LocalGateway {
    #[command(flatten)]
    pub server: LocalServer,
    /// The region the local cloud answers for
    #[arg(long)]
    pub region: String,
    /// Run functions as host processes, not in Lambda's sandbox
    #[arg(long)]
    pub unsandboxed: bool,
}

#[derive(Debug, Args)]
pub struct Build {
    /// Folder for the OCI image layout [default: target/image]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// A label baked into the app beside the commit, to tell two images of one commit apart
    #[arg(long, value_name = "ID", value_parser = build_id)]
    pub build_id: Option<String>,
    /// How to build: natively (no Docker), or with the Dockerfile (needs a Docker daemon)
    #[arg(long, value_enum, default_value_t = Builder::Native)]
    pub builder: Builder,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Builder {
    Native,
    Docker,
}

#[derive(Debug, Args)]
pub struct Bench {
    /// Fewer runs, no reproducibility check and no clone to green (clean builds, minutes), for CI
    #[arg(long)]
    pub quick: bool,
}

/// A `--build-id`: 1 to 32 of `A-Z a-z 0-9 . _ -`. It reaches the app's build script (a newline
/// would be a new cargo directive), the version's record and an image tag, and the app reports
/// it back for verification: anything those would rewrite or refuse is refused here
/// (security-audit-3 N10).
pub(super) fn build_id(text: &str) -> Result<String, String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if (1..=32).contains(&text.len()) && text.chars().all(allowed) {
        Ok(text.to_owned())
    } else {
        Err("1 to 32 letters, digits, '.', '_' or '-'".into())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_build_id_that_would_break_the_build_script_the_record_or_a_tag_is_refused() {
        assert_eq!(super::build_id("rc-1.2_x").unwrap(), "rc-1.2_x");
        let long = "a".repeat(33);
        for bad in [
            "",
            "a\ncargo:rustc-link-arg=-evil",
            "has space",
            "x=y",
            &long,
        ] {
            assert!(super::build_id(bad).is_err(), "{bad:?}");
        }
    }
}
