//! Every verb and flag of `cargo xtask`, in one place. Doc comments are the `--help` text.
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "Build, ship and roll back the app blue/green on AWS Lambda + API Gateway, or on the local cloud",
    version
)]
pub struct Cli {
    #[command(subcommand)]
    pub verb: Verb,
    /// Print the result as JSON on stdout (progress stays on stderr)
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Verb {
    /// Build the app's OCI image (static bootstrap, one deterministic layer) into a folder; no AWS
    Build(Build),
    /// Measure the app: binary size, cold start beside a bare lambda_http hello world, warm latency
    Bench(Bench),
    /// Install what the tests need, build the release bootstrap, run every test of the workspace
    Test(Test),
    /// Run the AWS side on this machine: moto, a registry and our gateway (no account, no Docker)
    Local(Local),
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
    Up,
    /// Stop what `up` started, by pid
    Down,
    /// Show each component, its pid, its URL and whether it answers (exit 1 unless all do)
    Status,
    /// Print `export` lines that point the aws CLI, SDKs and tests at the local cloud
    Env,
    /// Serve the gateway in the foreground (what `up` runs in the background)
    #[command(hide = true)]
    Gateway(LocalGateway),
}

#[derive(Debug, Args)]
pub struct LocalGateway {
    #[arg(long)]
    pub port: u16,
    #[arg(long)]
    pub state_dir: std::path::PathBuf,
    #[arg(long)]
    pub moto_url: String,
    #[arg(long)]
    pub registry_url: String,
    #[arg(long)]
    pub region: String,
}

#[derive(Debug, Args)]
pub struct Build {
    /// Folder for the OCI image layout [default: target/image]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// A label baked into the app beside the commit, to tell two images of one commit apart
    #[arg(long, value_name = "ID")]
    pub build_id: Option<String>,
}

#[derive(Debug, Args)]
pub struct Bench {
    /// Fewer runs, for CI
    #[arg(long)]
    pub quick: bool,
}
