//! Every verb and flag of `cargo xtask`, in one place. Doc comments are the `--help` text.
//! The verbs' own flags are in `flags/`: those of the verbs that read or change a stack, and
//! those of the verbs that work on this machine alone.
mod machine;
mod stack;

use clap::{Args, Parser, Subcommand};

pub use machine::*;
pub use stack::*;

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
    #[command(flatten)]
    pub global: Global,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Target the local cloud (moto, registry, gateway on 127.0.0.1; started when needed) instead of AWS
    #[arg(long, global = true)]
    pub local: bool,
    /// Print the result as JSON on stdout (progress stays on stderr)
    #[arg(long, global = true)]
    pub json: bool,
    /// Bound the run's work with the cloud (from after a build); past it the run stops and
    /// cleanup still runs. A rollout must fit in it (and in the credentials' life,
    /// AWS_CREDENTIAL_EXPIRATION), or it is refused up front
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 900)]
    pub timeout: u64,
    /// Let a rollout (deploy, promote) outlast the run: instead of refusing a plan longer
    /// than --timeout, the run stops a minute before its end with green split (or baking) and
    /// the rollout's progress in green's record; `cargo xtask resume` (the scheduled rollout
    /// workflow) judges what happened meanwhile and carries it on
    #[arg(long, global = true)]
    pub hand_off: bool,
    /// Run in this environment of deploy.toml's [environments]: its account (credentials for
    /// another stop the run), its profile or role, its values; in each of its regions in order
    #[arg(long, global = true, value_name = "NAME")]
    pub env: Option<String>,
    /// With --env: only this one of the environment's regions
    #[arg(long, global = true, value_name = "REGION", requires = "env")]
    pub region: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Verb {
    /// Create what is missing: repository, role, image function, aliases, REST API, permissions, stage green
    Provision(Provision),
    /// Ship this commit: build, lock, push, publish, verify on blue, promote to green, clean up
    Deploy(Deploy),
    /// Move green to the version a `deploy --hold` verified on blue, rolling out as that deploy would have
    ///
    /// Green must not have moved since the hold. The rollout takes the held deploy's strategy and
    /// bake (or deploy.toml's [rollout]); trouble rolls green back by itself (exit 7); blue and
    /// the hold are removed either way.
    Promote(Promote),
    /// End a `deploy --hold`: remove blue, leave green as it is
    Abort(Abort),
    /// Carry on a rollout an earlier run began (ran out of time with --hand-off, or was killed)
    ///
    /// Judges green's real traffic since the rollout began (CloudWatch keeps it), then takes
    /// the next step, promotes, finishes the bake, or rolls back (exit 7); hands off again
    /// when its own time runs out. Nothing under way: says so, exit 0.
    Resume(Resume),
    /// Move green back to a published version (default: the one before the last promotion) and pin it
    Rollback(Rollback),
    /// Clear the pin a rollback set, so deploys proceed again
    Unpin(Unpin),
    /// Show aliases, stages, what each endpoint reports live, and drift warnings
    Status(Status),
    /// List published versions with their build facts, and which were verified and promoted
    History(History),
    /// Run a deploy's checks against one stage
    Verify(Verify),
    /// Delete old versions and their images, never one an alias, a rollback or the last N verified still need
    Prune(Prune),
    /// Remove everything provision created (asks unless --yes)
    Destroy(Destroy),
    /// Build the app's OCI image (static bootstrap, one deterministic layer) into a folder; no AWS
    Build(Build),
    /// Measure the app, the pipeline and the local cloud, and report the goals
    ///
    /// App and image size, cold start beside a hello world, the pipeline on a local cloud of its
    /// own, the gateway vs cargo lambda watch, reproducibility, clone to green, xtask's own
    /// rebuild after one edit; writes target/bench/results.{json,md}.
    Bench(Bench),
    /// Install what the tests need, build the release bootstrap, run every test of the workspace
    Test(Test),
    /// Replay AWS answers recorded from the real service against the local cloud and the simulation
    Conformance(Conformance),
    /// Simulate: the real pipeline against an in-memory AWS, faults at every call; no AWS
    ///
    /// Several actors at once on virtual time, the invariants checked after every step; a
    /// failing seed is printed with the command that replays it.
    Sim(Sim),
    /// Check the account's set-up and the stack; reads only, exit 8 on findings
    ///
    /// Against deploy.toml and the GitHub repository: the OIDC provider, the deploy role's trust
    /// and policy, the region, the provisioned stack.
    Doctor(Doctor),
    /// Print the deploy role's least-privilege IAM policy (or a promotion source's read-only one, or with --trust a GitHub OIDC trust policy); no AWS
    IamPolicy(IamPolicy),
    /// Run the AWS side on this machine: moto, a registry and our gateway (no account, no Docker)
    Local(Local),
}
