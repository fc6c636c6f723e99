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
    /// Print the deploy role's least-privilege IAM policy (or, with --trust, its GitHub OIDC trust policy); no AWS
    IamPolicy(IamPolicy),
    /// Run the AWS side on this machine: moto, a registry and our gateway (no account, no Docker)
    Local(Local),
}

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
    Env,
    /// Serve the gateway in the foreground (what `up` runs in the background)
    #[command(hide = true)]
    Gateway(LocalGateway),
    /// Serve the strict front before moto in the foreground (what `up` runs in the background)
    #[command(hide = true)]
    Front(LocalFront),
}

#[derive(Debug, Args)]
pub struct LocalFront {
    /// Loopback port to serve on
    #[arg(long)]
    pub port: u16,
    /// The local cloud's state dir (the front keeps its books there)
    #[arg(long)]
    pub state_dir: std::path::PathBuf,
    /// moto's URL: where calls go on
    #[arg(long)]
    pub moto_url: String,
    /// The local registry's URL: what ECR's GetAuthorizationToken names
    #[arg(long)]
    pub registry_url: String,
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
    /// Loopback port to serve on
    #[arg(long)]
    pub port: u16,
    /// The local cloud's state dir (function logs, extracted images)
    #[arg(long)]
    pub state_dir: std::path::PathBuf,
    /// The control plane's URL (the strict front before moto; it names the registry)
    #[arg(long)]
    pub moto_url: String,
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

#[derive(Debug, Args)]
pub struct Provision {
    /// Ship an image built earlier by `build` as version 1 instead of building one
    #[arg(long, value_name = "DIR")]
    pub image: Option<PathBuf>,
    /// A label baked into the app beside the commit (see `build --build-id`)
    #[arg(long, value_name = "ID", value_parser = build_id)]
    pub build_id: Option<String>,
    /// Print what would be created; write nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct Deploy {
    /// Deploy an image built earlier by `build` (build once, deploy many)
    #[arg(long, value_name = "DIR")]
    pub image: Option<PathBuf>,
    /// A label baked into the app beside the commit (see `build --build-id`)
    #[arg(long, value_name = "ID", value_parser = build_id)]
    pub build_id: Option<String>,
    /// Keep stage blue (and the lock) after the deploy, to look at it; see `status --show-token`
    #[arg(long)]
    pub keep_blue: bool,
    /// Take over a lock whose deploy died before it expired
    #[arg(long)]
    pub break_lock: bool,
    /// Deploy although a rollback pinned green (clears the pin on promotion)
    #[arg(long)]
    pub unpin: bool,
    /// Move the function to deploy.toml's architecture when it runs on the other one (the
    /// new version runs on it; older versions keep theirs, so rollback still works)
    #[arg(long)]
    pub switch_architecture: bool,
    /// Build and read, print the plan; write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Stop after blue is verified, keeping blue and the lock, for a person to look at blue;
    /// then `cargo xtask promote` (or `cargo xtask abort`). `BGD_HOLD=true` says the same
    /// (the deploy workflow's approval gate sets it)
    #[arg(long, env = "BGD_HOLD")]
    pub hold: bool,
    /// How long a hold stands before another deploy may take it over
    #[arg(long, value_name = "MINUTES", default_value_t = 240, requires = "hold")]
    pub hold_minutes: u64,
    /// How green shifts to the new version: all-at-once, canary:PCT:DURATION,
    /// linear:PCT:DURATION (like canary:10:5m) or a CodeDeploy name (Canary10Percent5Minutes)
    /// [default: deploy.toml's [rollout] strategy]
    #[arg(long, value_name = "STRATEGY")]
    pub strategy: Option<bgd_core::config::Strategy>,
    /// Watch green this long on the new version alone before the run ends, like 2m
    /// [default: deploy.toml's [rollout] bake]
    #[arg(long, value_name = "DURATION", value_parser = bgd_core::config::parse_duration)]
    pub bake: Option<std::time::Duration>,
    /// Ship an image although an earlier rollout of it failed and was rolled back
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct Promote {
    /// Check the hold and print what would happen; write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// How green shifts to the held version, as `deploy --strategy` (all-at-once,
    /// canary:PCT:DURATION, linear:PCT:DURATION or a CodeDeploy name)
    /// [default: the held deploy's, else deploy.toml's [rollout] strategy]
    #[arg(long, value_name = "STRATEGY")]
    pub strategy: Option<bgd_core::config::Strategy>,
    /// Watch green this long on the held version alone before the run ends, like 2m
    /// [default: the held deploy's, else deploy.toml's [rollout] bake]
    #[arg(long, value_name = "DURATION", value_parser = bgd_core::config::parse_duration)]
    pub bake: Option<std::time::Duration>,
}

#[derive(Debug, Args)]
pub struct Abort {
    /// Say what would be removed; write nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct Rollback {
    /// The published version green goes back to [default: the one before the last promotion]
    #[arg(long, value_name = "N")]
    pub to: Option<u64>,
    /// Take over (or remove) a lock whose deploy or rollback died before it expired
    #[arg(long)]
    pub break_lock: bool,
    /// Go back to a version although a rollout of it failed and was rolled back
    #[arg(long)]
    pub force: bool,
    /// Check the target and print what would happen; write nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct Prune {
    /// How many of the newest verified versions to keep (besides those aliases and rollback need)
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub keep: usize,
    /// Print what would be deleted; delete nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct Unpin {
    /// Say whether green is pinned; write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Unpin although stage blue (the lock) is held, when its run died
    #[arg(long)]
    pub break_lock: bool,
}

#[derive(Debug, Args)]
pub struct Status {
    /// Also print stage blue's verify token (to curl a blue kept with --keep-blue)
    #[arg(long)]
    pub show_token: bool,
}

#[derive(Debug, Args)]
pub struct History {}

#[derive(Debug, Args)]
pub struct Verify {
    /// The stage to check: blue or green
    #[arg(long, value_name = "STAGE")]
    pub stage: String,
    /// The version it must report [default: the one its alias points at]
    #[arg(long, value_name = "N")]
    pub expect_version: Option<u64>,
}

#[derive(Debug, Args)]
pub struct Destroy {
    /// Do not ask for confirmation
    #[arg(long)]
    pub yes: bool,
    /// Print what would be removed; remove nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Destroy even while a deploy holds the lock (stage blue) that has not expired
    #[arg(long)]
    pub break_lock: bool,
}

#[derive(Debug, Args)]
pub struct Doctor {
    /// The deploy role, by name or ARN [default: NAME-deploy, as docs/aws.md creates it]
    #[arg(long, value_name = "NAME")]
    pub role: Option<String>,
    /// The GitHub repository whose deploy job assumes the role (checks the trust's subject)
    #[arg(long, value_name = "OWNER/REPO", requires = "environment")]
    pub repo: Option<String>,
    /// The GitHub environment the deploy job runs in; repeat it for the approval gate's
    #[arg(long, value_name = "NAME", requires = "repo")]
    pub environment: Vec<String>,
}

#[derive(Debug, Args)]
pub struct IamPolicy {
    /// The AWS account id the ARNs name (12 digits)
    #[arg(long, value_name = "ID")]
    pub account: String,
    /// Also grant what `provision` and `destroy` need (not only deploy, rollback and status)
    #[arg(long)]
    pub provision: bool,
    /// Scope API Gateway to this one REST API (its id, from `cargo xtask status`) once provisioned
    #[arg(long, value_name = "ID")]
    pub api_id: Option<String>,
    /// Print the trust policy instead: GitHub OIDC tokens of one repository's environment
    #[arg(long)]
    pub trust: bool,
    /// The GitHub repository allowed to assume the role, with --trust
    #[arg(long, value_name = "OWNER/REPO")]
    pub repo: Option<String>,
    /// The GitHub environment the deploy job runs in, with --trust; repeat it for the
    /// approval gate's second environment (`--environment production --environment production-approval`)
    #[arg(long, value_name = "NAME")]
    pub environment: Vec<String>,
}

/// A `--build-id`: 1 to 32 of `A-Z a-z 0-9 . _ -`. It reaches the app's build script (a newline
/// would be a new cargo directive), the version's record and an image tag, and the app reports
/// it back for verification: anything those would rewrite or refuse is refused here
/// (security-audit-3 N10).
fn build_id(text: &str) -> Result<String, String> {
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
