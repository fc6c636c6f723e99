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
}

#[derive(Debug, Args)]
pub struct Test {
    /// Extra arguments for `cargo test`, after `--` (a test name filter, `--nocapture`, ...)
    #[arg(last = true)]
    pub cargo_args: Vec<String>,
}
