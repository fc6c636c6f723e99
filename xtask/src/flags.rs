//! Every verb and flag of `cargo xtask`, in one place. Doc comments are the `--help` text.
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
}

#[derive(Debug, Subcommand)]
pub enum Verb {
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
    /// Show each component, its pid, its URL and whether it answers
    Status(LocalStatus),
    /// Print `export` lines that point the aws CLI, SDKs and tests at the local cloud
    Env,
    /// Serve the gateway in the foreground (what `up` runs in the background)
    #[command(hide = true)]
    Gateway(LocalGateway),
}

#[derive(Debug, Args)]
pub struct LocalStatus {
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
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
