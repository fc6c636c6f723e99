//! The deploy history, kept in AWS itself so any machine can read it: each published version's
//! Description (immutable, <= 256 chars) records its build; the green alias's Description
//! records the last promotion and a rollback pin; the blue stage's description is the lock.
//! Formats are `bgd key=value ...`: short enough for the limits, readable in the console.
//! That blue verified a version is recorded by an image tag naming that very publication
//! ([`verified_tag`]); [`verification`] is the one rule every verb reads it with.
use std::{
    cell::Cell,
    collections::BTreeMap,
    fmt,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, Result, bail};
use serde::Serialize;

mod verification;
pub use verification::{failed_image_tag, failed_tag, verification, verified_tag};

/// Lambda's limit on version and alias descriptions.
pub const DESCRIPTION_LIMIT: usize = 256;
const MARK: &str = "bgd";

/// What a published version was built from; its Description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionRecord {
    pub git_sha: String,
    pub dirty: bool,
    /// `sha256:HEX` of the image manifest.
    pub digest: String,
    pub build_id: Option<String>,
    /// When it was published (RFC 3339 UTC).
    pub published_at: String,
    pub actor: String,
}

/// The green alias's Description: the last promotion, and a pin set by rollback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Promotion {
    pub version: u64,
    /// The version green served before (what `rollback` alone goes back to).
    pub from: Option<u64>,
    pub actor: String,
    pub at: String,
    /// Set by rollback: deploys refuse until `unpin` (or `deploy --unpin`).
    pub pinned: bool,
    /// Set by a rollout's promote: green is baking on this version until then (epoch
    /// seconds); cleared once the bake passed. A run that finds it set resumes the bake.
    pub baking: Option<u64>,
}

/// The blue stage's description while a deploy holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lock {
    pub holder: String,
    pub git_sha: String,
    /// Seconds since the epoch after which another deploy may take the lock over.
    pub expires: u64,
    /// Taken by `deploy --keep-blue`: blue stays after the deploy ends.
    pub kept: bool,
    /// Taken by `deploy --hold`: blue stays verified for `promote` (or `abort`), and green's
    /// RevisionId when the hold began, which `promote` requires green still to have.
    pub hold: Option<Hold>,
    /// What the holder does under the lock.
    pub task: Task,
}

/// What a lock's holder does: every verb that must exclude the others holds the one lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    #[default]
    Deploy,
    /// `promote` carrying a hold to green: the hold is its lock until it ends.
    Promote,
    /// `prune` deleting versions and images.
    Prune,
    /// `provision` verifying on blue the version stage green will first serve.
    Provision,
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Task {
    fn name(self) -> &'static str {
        match self {
            Task::Deploy => "deploy",
            Task::Promote => "promote",
            Task::Prune => "prune",
            Task::Provision => "provision",
        }
    }
}

/// What a held deploy keeps for `promote`: green's RevisionId, and how the deploy would have
/// rolled out (its `--strategy` and `--bake`, or deploy.toml's), as `deploy` writes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hold {
    pub green_revision: String,
    pub strategy: Option<String>,
    pub bake: Option<String>,
}

impl VersionRecord {
    /// The record of a version published now from this build.
    pub fn now(facts: &crate::facts::BuildFacts, digest: &str) -> Self {
        Self {
            git_sha: facts.git_sha.clone(),
            dirty: facts.dirty,
            digest: digest.to_owned(),
            build_id: facts.build_id.clone(),
            published_at: now_rfc3339(),
            actor: actor(),
        }
    }

    pub fn to_description(&self) -> String {
        let mut fields = vec![
            ("g", self.git_sha.clone()),
            ("d", crate::facts::hex_of(&self.digest).to_owned()),
            ("t", self.published_at.clone()),
            ("dirty", u8::from(self.dirty).to_string()),
        ];
        if let Some(id) = &self.build_id {
            fields.push(("id", id.clone()));
        }
        fields.push(("by", self.actor.clone()));
        encode(&fields)
    }

    pub fn parse(description: &str) -> Result<Self> {
        let fields = decode(description)?;
        let get = |key: &str| {
            fields
                .get(key)
                .cloned()
                .with_context(|| format!("no {key}= in {description:?}"))
        };
        Ok(Self {
            git_sha: get("g")?,
            dirty: get("dirty")? == "1",
            digest: format!("sha256:{}", get("d")?),
            build_id: fields.get("id").cloned(),
            published_at: get("t")?,
            actor: fields.get("by").cloned().unwrap_or_default(),
        })
    }
}

impl Promotion {
    pub fn to_description(&self) -> String {
        let mut fields = vec![("v", self.version.to_string())];
        if let Some(from) = self.from {
            fields.push(("from", from.to_string()));
        }
        fields.push(("t", self.at.clone()));
        if self.pinned {
            fields.push(("pinned", "1".into()));
        }
        if let Some(until) = self.baking {
            fields.push(("bake", until.to_string()));
        }
        fields.push(("by", self.actor.clone()));
        encode(&fields)
    }

    pub fn parse(description: &str) -> Result<Self> {
        let fields = decode(description)?;
        let number = |key: &str| -> Result<Option<u64>> {
            fields
                .get(key)
                .map(|v| {
                    v.parse()
                        .with_context(|| format!("{key}={v} is not a version"))
                })
                .transpose()
        };
        Ok(Self {
            version: number("v")?.with_context(|| format!("no v= in {description:?}"))?,
            from: number("from")?,
            actor: fields.get("by").cloned().unwrap_or_default(),
            at: fields.get("t").cloned().unwrap_or_default(),
            pinned: fields.get("pinned").is_some_and(|v| v == "1"),
            baking: number("bake")?,
        })
    }
}

impl Lock {
    pub fn new(git_sha: &str, ttl: Duration, kept: bool, hold: Option<Hold>) -> Self {
        Self {
            holder: actor(),
            git_sha: git_sha.to_owned(),
            expires: epoch_seconds().saturating_add(ttl.as_secs()),
            kept,
            hold,
            task: Task::Deploy,
        }
    }

    pub(crate) fn is_expired(&self) -> bool {
        epoch_seconds() > self.expires
    }

    pub fn to_description(&self) -> String {
        let mut fields = vec![
            ("g", self.git_sha.clone()),
            ("expires", self.expires.to_string()),
        ];
        if self.kept {
            fields.push(("kept", "1".into()));
        }
        if self.task != Task::Deploy {
            fields.push(("task", self.task.name().into()));
        }
        if let Some(hold) = &self.hold {
            fields.push(("held", hold.green_revision.clone()));
            if let Some(strategy) = &hold.strategy {
                fields.push(("strategy", strategy.clone()));
            }
            if let Some(bake) = &hold.bake {
                fields.push(("bake", bake.clone()));
            }
        }
        // The holder last: encode cuts the last field to fit.
        fields.push(("lock", self.holder.clone()));
        encode(&fields)
    }

    pub fn parse(description: &str) -> Result<Self> {
        let fields = decode(description)?;
        Ok(Self {
            holder: fields
                .get("lock")
                .cloned()
                .context("no lock= in the blue stage's description")?,
            git_sha: fields.get("g").cloned().unwrap_or_default(),
            // An expiry nobody can read is a live lock (fail closed): only --break-lock ends it.
            expires: fields
                .get("expires")
                .and_then(|v| v.parse().ok())
                .unwrap_or(u64::MAX),
            kept: fields.get("kept").is_some_and(|v| v == "1"),
            hold: fields.get("held").map(|revision| Hold {
                green_revision: revision.clone(),
                strategy: fields.get("strategy").cloned(),
                bake: fields.get("bake").cloned(),
            }),
            task: match fields.get("task").map(String::as_str) {
                Some("promote") => Task::Promote,
                Some("prune") => Task::Prune,
                Some("provision") => Task::Provision,
                _ => Task::Deploy,
            },
        })
    }
}

impl fmt::Display for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let left = self.expires.saturating_sub(epoch_seconds());
        if self.hold.is_some() {
            write!(
                f,
                "a deploy of {} held by {} for `cargo xtask promote` or `cargo xtask abort` (",
                short(&self.git_sha),
                self.holder
            )?;
        } else if self.task == Task::Prune {
            write!(f, "held by {} pruning versions (", self.holder)?;
        } else {
            let doing = match self.task {
                Task::Promote => "promoting the hold of",
                Task::Provision => "provisioning",
                _ => "deploying",
            };
            write!(
                f,
                "held by {} {doing} {} (",
                self.holder,
                short(&self.git_sha)
            )?;
        }
        if left == 0 {
            write!(f, "expired)")
        } else {
            write!(f, "expires in {left} s)")
        }
    }
}

/// Who is deploying: the GitHub actor in Actions, else user@host.
pub fn actor() -> String {
    if let Ok(actor) = std::env::var("GITHUB_ACTOR") {
        return format!("github:{actor}");
    }
    let user = std::env::var("USER").unwrap_or_else(|_| "someone".into());
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    format!("{user}@{}", host.trim())
}

/// The first 12 characters of a git sha (or whatever a stage reported in its place).
pub fn short(git_sha: &str) -> &str {
    let end = git_sha
        .char_indices()
        .nth(12)
        .map_or(git_sha.len(), |(i, _)| i);
    &git_sha[..end]
}

/// Values never hold spaces or '='; the last field (the actor, free-form) is cut to fit.
fn encode(fields: &[(&str, String)]) -> String {
    let mut out = String::from(MARK);
    for (key, value) in fields {
        let value: String = value
            .chars()
            .map(|c| {
                if c.is_whitespace() || c == '=' {
                    '_'
                } else {
                    c
                }
            })
            .collect();
        out.push_str(&format!(" {key}={value}"));
    }
    // On a character boundary: a multi-byte character in the actor must not panic.
    out.truncate(out.floor_char_boundary(DESCRIPTION_LIMIT));
    out
}

fn decode(description: &str) -> Result<BTreeMap<String, String>> {
    let mut words = description.split_whitespace();
    if words.next() != Some(MARK) {
        bail!("{description:?} was not written by bgd");
    }
    Ok(words
        .filter_map(|word| word.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
}

thread_local! {
    /// The simulation's clock on its thread: the epoch second its run began at, and when.
    static VIRTUAL_EPOCH: Cell<Option<(u64, tokio::time::Instant)>> = const { Cell::new(None) };
}

tokio::task_local! {
    /// How far this machine's clock is off, in seconds, inside [`skewed`].
    static SKEW: i64;
}

/// Seconds since the Unix epoch: the wall clock, except on a thread inside [`virtual_clock`],
/// where publication times and lock expiries must replay alike for one seed; inside
/// [`skewed`], as far off as that machine's clock is.
pub fn epoch_seconds() -> u64 {
    let now = match VIRTUAL_EPOCH.get() {
        Some((epoch, start)) => epoch.saturating_add(start.elapsed().as_secs()),
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs(),
    };
    now.saturating_add_signed(SKEW.try_with(|s| *s).unwrap_or(0))
}

/// Runs `work` on a machine whose clock is `skew` seconds off: the simulation's actors are
/// separate machines, and every time one writes (a lock's expiry, a bake's end, a record's
/// time) or judges (expired? baked?) is its own clock's.
pub async fn skewed<F: std::future::Future>(skew: i64, work: F) -> F::Output {
    SKEW.scope(skew, work).await
}

/// How long before its credentials expire a run ends: its cleanup (bounded at 30 s) and a
/// rollout's revert still need them (past the expiry, the revert itself failed on ExpiredToken:
/// aws-audit-3 N2).
pub const CREDENTIALS_RESERVE: Duration = Duration::from_secs(2 * 60);

/// When a run ends: `timeout_s` from now, or [`CREDENTIALS_RESERVE`] before its credentials
/// expire, whichever comes first (the credentials' expiry judged by [`system_now`], so the
/// simulation's machines judge it by their virtual clocks).
pub fn run_deadline(
    timeout_s: u64,
    credentials_expire: Option<SystemTime>,
) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    // A huge --timeout means no deadline, not an overflow.
    let timeout = now
        .checked_add(Duration::from_secs(timeout_s))
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86_400));
    let Some(expire) = credentials_expire else {
        return timeout;
    };
    let usable = expire
        .duration_since(system_now())
        .unwrap_or_default()
        .saturating_sub(CREDENTIALS_RESERVE);
    timeout.min(now + usable)
}

/// Now by [`epoch_seconds`], as a `SystemTime`: where traffic is counted from, on the clock
/// the run's records use (a rollout's start read from the wall clock counted no traffic in
/// the simulation, whose CloudWatch follows the virtual one).
pub fn system_now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(epoch_seconds())
}

/// Until the guard drops, [`epoch_seconds`] on this thread starts at `epoch` and follows
/// tokio's clock (paused in the simulation), not the wall clock. Call it inside the runtime.
pub fn virtual_clock(epoch: u64) -> VirtualClock {
    VIRTUAL_EPOCH.set(Some((epoch, tokio::time::Instant::now())));
    VirtualClock
}

/// Restores the wall clock on drop.
pub struct VirtualClock;

impl Drop for VirtualClock {
    fn drop(&mut self) {
        VIRTUAL_EPOCH.set(None);
    }
}

/// RFC 3339 UTC of the current time.
pub(crate) fn now_rfc3339() -> String {
    rfc3339(epoch_seconds())
}

/// The one civil-date conversion (and its inverse), shared with the data plane's log lines.
pub use bgd_rules::clock::{epoch_of, rfc3339};

#[cfg(test)]
mod tests;
