//! The flags of the verbs that ship, read or change a stack (on AWS or the local cloud), and of
//! those that check or write out the account's set-up for it.
use std::path::PathBuf;

use clap::Args;

use super::machine::build_id;

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
    /// Ship the very image green serves in environment SOURCE (no build): refused unless blue
    /// verified that version there; then verified on this environment's own blue as any deploy
    #[arg(long, value_name = "SOURCE", requires = "env", conflicts_with_all = ["image", "build_id"])]
    pub from: Option<String>,
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
pub struct Resume {
    /// Take over a lock whose run died before it expired
    #[arg(long)]
    pub break_lock: bool,
    /// Say what is under way and what would be judged next; write nothing
    #[arg(long)]
    pub dry_run: bool,
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
    /// One table of what green serves in every environment and region of deploy.toml (digest,
    /// build, where it came from), and where they differ
    #[arg(long, conflicts_with_all = ["env", "show_token"])]
    pub environments: bool,
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
    /// The AWS account id the ARNs name (12 digits); with --env, the environment's (refused if
    /// it differs), and every one of its regions is named
    #[arg(long, value_name = "ID", required_unless_present = "env")]
    pub account: Option<String>,
    /// With --env: the read-only policy of the role `deploy --from` reads this environment
    /// with (green, its version, the image, in its first region), for another environment's
    /// deploy job
    #[arg(long, requires = "env", conflicts_with_all = ["provision", "api_id"])]
    pub promotion_source: bool,
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
