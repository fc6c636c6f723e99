//! `cargo xtask`: parse, build the runtime, dispatch. Verbs live in their own modules.
use clap::Parser;
use xtask::flags::{Cli, Verb};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.verb {
        Verb::Bench(bench) => bench.run(cli.json),
        Verb::Build(build) => build.run(cli.json),
        Verb::Test(test) => test.run(),
        Verb::Local(local) => tokio::runtime::Runtime::new()?.block_on(local.run(cli.json)),
    }
}
