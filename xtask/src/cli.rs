//! `cargo xtask` from its arguments to its exit code: parse, build the runtime, dispatch. Both
//! the shipped binary and the tests' fault-armed build (`xtask-faults`, see `bgd_core::hooks`) run it.
use std::process::ExitCode;

use clap::Parser;

use crate::{
    flags::{Cli, Verb},
    places::{
        OnFailure::{CarryOn, Stop},
        in_each,
    },
};
use bgd_core::{hooks, outcome, secret};

/// The run's stack: address space, touched only as deep as a verb goes.
const STACK_BYTES: usize = 64 << 20;

pub fn main() -> ExitCode {
    // A panic's message may quote a secret, as any message may.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("{}", secret::redact(&info.to_string()));
    }));
    let cli = Cli::parse();
    hooks::warn_if_ignored();
    // The verbs run on a thread with a roomy stack: debug builds (xtask is one) keep every
    // temporary of an async fn in its frame, and a verb's chain of futures over the AWS SDK
    // came within reach of the main thread's 8 MB.
    let worker = std::thread::Builder::new()
        .name("xtask".into())
        .stack_size(STACK_BYTES)
        .spawn(move || run(cli));
    let ended = match worker {
        Ok(worker) => worker
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("a bug in bgd: the run panicked"))),
        Err(e) => Err(anyhow::anyhow!("starting the run's thread: {e}")),
    };
    match ended {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", secret::redact(&format!("{error:#}")));
            ExitCode::from(outcome::exit_of(&error).code())
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let global = &cli.global;
    let runtime = tokio::runtime::Runtime::new()?;
    // A verb on a stack, in each region of `--env` (one run without it).
    macro_rules! in_each {
        ($verb:ident, $on_failure:expr) => {
            runtime.block_on(in_each(global, $on_failure, async |config| {
                $verb.run(global, config).await
            }))
        };
    }
    match cli.verb {
        Verb::Provision(verb) => in_each!(verb, Stop),
        Verb::Deploy(verb) => runtime.block_on(verb.run_everywhere(global)),
        Verb::Promote(verb) => in_each!(verb, Stop),
        Verb::Abort(verb) => in_each!(verb, Stop),
        Verb::Resume(verb) => in_each!(verb, Stop),
        Verb::Rollback(verb) => runtime.block_on(verb.run_everywhere(global)),
        Verb::Unpin(verb) => in_each!(verb, Stop),
        Verb::Prune(verb) => in_each!(verb, Stop),
        Verb::Status(verb) => runtime.block_on(verb.run_everywhere(global)),
        Verb::History(verb) => in_each!(verb, CarryOn),
        Verb::Verify(verb) => in_each!(verb, CarryOn),
        Verb::Destroy(verb) => in_each!(verb, Stop),
        Verb::Doctor(verb) => in_each!(verb, CarryOn),
        Verb::Local(verb) => runtime.block_on(verb.run(global.json)),
        Verb::Build(verb) => verb.run(global.json),
        Verb::Bench(verb) => verb.run(&runtime, global.json),
        Verb::Test(verb) => verb.run(&runtime),
        Verb::Conformance(verb) => runtime.block_on(verb.run()),
        Verb::Sim(verb) => verb.run(),
        Verb::IamPolicy(verb) => verb.run(global),
    }
}
