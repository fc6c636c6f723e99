//! The deploy history, kept in AWS itself so any machine can read it: each published version's
//! Description (immutable, <= 256 chars) records its build; the green alias's Description
//! records the last promotion and a rollback pin; the blue stage's description is the lock.
//! Formats are `bgd key=value ...`: short enough for the limits, readable in the console.
//! That blue verified a version is recorded by an image tag naming that very publication
//! ([`verified_tag`]); [`verification`] is the one rule every verb reads it with.
use std::{collections::BTreeMap, fmt, time::Duration};

use anyhow::{Context, Result, bail};
use serde::Serialize;

mod clock;
mod rolling;
mod verification;
mod version;
pub(crate) use clock::now_rfc3339;
pub use clock::{
    CREDENTIALS_RESERVE, VirtualClock, epoch_of, epoch_seconds, rfc3339, run_deadline, skewed,
    system_now, virtual_clock,
};
pub use rolling::Rolling;
pub use verification::{
    LATEST_IMAGE_PREFIX, failed_image_tag, failed_tag, latest_image_tag, verification, verified_tag,
};
pub use version::VersionRecord;

/// Lambda's limit on version and alias descriptions.
pub const DESCRIPTION_LIMIT: usize = 256;
const MARK: &str = "bgd";

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
    /// Set by each write of a rollout's shift: the rollout under way, which a later run
    /// carries on from where it stopped (`resume`, or the same deploy again).
    pub rolling: Option<Rolling>,
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
    /// `resume` carrying on a rollout an earlier run began (green's record says how far).
    Resume,
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
            Task::Resume => "resume",
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
        if let Some(rolling) = &self.rolling {
            fields.extend(rolling.fields());
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
            rolling: Rolling::decode(&fields)?,
        })
    }

    /// A record of `version` promoted now by this actor, with nothing to roll back to.
    pub fn alone(version: u64) -> Self {
        Self {
            version,
            from: None,
            actor: actor(),
            at: now_rfc3339(),
            pinned: false,
            baking: None,
            rolling: None,
        }
    }

    /// The record without a rollout under way: what green's record was before it began.
    pub fn settled(&self) -> Self {
        Self {
            rolling: None,
            ..self.clone()
        }
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
                Some("resume") => Task::Resume,
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
                Task::Resume => "carrying on the rollout of",
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

#[cfg(test)]
mod tests;
