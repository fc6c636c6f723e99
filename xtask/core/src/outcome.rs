//! How a run ends, for people and for CI scripts: the exit code (one list, the README's) and a
//! true statement of what green serves afterwards and whether this run moved it, read from
//! the cloud after the run rather than assumed from how far the run got.
use std::{collections::BTreeMap, fmt};

use serde::Serialize;

use crate::cloud::AliasTarget;

/// Exit codes. Every failure but [`Exit::GreenMoved`] leaves green as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::VariantArray)]
#[serde(rename_all = "snake_case")]
pub enum Exit {
    Done = 0,
    /// Failed; green unchanged.
    Failed = 1,
    /// Bad arguments (clap's own code).
    Usage = 2,
    /// This run moved green (or sent the write that may have), then something failed: the
    /// message says what green serves and the command that puts it back.
    GreenMoved = 3,
    /// Another run holds the lock (stage blue); green unchanged.
    LockHeld = 4,
    /// Blue did not pass verification; green unchanged.
    VerificationFailed = 5,
    /// A rollback pinned green; deploys refuse until `unpin`. Green unchanged.
    Pinned = 6,
    /// A rollout's health signal breached: green is back on the old version alone and the new
    /// version is recorded as failed (deployed again only with `--force`).
    RolledBack = 7,
    /// `doctor` found something to fix; each finding says what to run or change.
    Findings = 8,
}

impl Exit {
    /// Every code with its meaning, as the README lists them (a tidy test keeps them equal).
    pub const ALL: &[Exit] = <Self as strum::VariantArray>::VARIANTS;

    pub fn code(self) -> u8 {
        self as u8
    }
}

/// A failure a CI script can branch on: its exit code travels with the error.
#[derive(Debug)]
pub struct Refused {
    pub exit: Exit,
    pub message: String,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Refused {}

pub fn refuse(exit: Exit, message: impl Into<String>) -> anyhow::Error {
    Refused {
        exit,
        message: message.into(),
    }
    .into()
}

/// The exit code of a failed run: the outermost code its error carries, else 1.
pub fn exit_of(error: &anyhow::Error) -> Exit {
    // anyhow finds a code given as the outermost context itself; the chain finds the others.
    error
        .downcast_ref::<Refused>()
        .or_else(|| error.chain().find_map(|e| e.downcast_ref::<Refused>()))
        .map_or(Exit::Failed, |r| r.exit)
}

/// Whether green moved during the run, judged from green before and after and the writes
/// this run sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Moved {
    ByThisRun,
    Unchanged,
    BySomeoneElse,
    /// Green could not be read after the run, or it serves what a write of this run asked for
    /// that never got an answer: that write may or may not have landed.
    Unknown,
}

/// The writes a run sent to green, for its closing statement. Only an answered write counts
/// as this run's: a write refused by its guard (someone else moved green first) wrote nothing,
/// and one whose answer never came may have landed.
#[derive(Debug, Clone, Default)]
pub struct GreenWrites {
    /// Where green's last write that AWS answered with success put it.
    written: Option<AliasTarget>,
    /// A write sent whose answer never came (the network, an interrupt).
    unanswered: Option<AliasTarget>,
}

impl GreenWrites {
    /// A write to `target` is about to be sent.
    pub fn sent(&mut self, target: &AliasTarget) {
        self.unanswered = Some(target.clone());
    }

    /// The write to `target` was answered: it landed (`written`) or was refused.
    pub fn answered(&mut self, target: &AliasTarget, written: bool) {
        self.unanswered = None;
        if written {
            self.written = Some(target.clone());
        }
    }

    /// Whether green at `target` is where this run's last write put it (or may have).
    pub(crate) fn put_there(&self, target: &AliasTarget) -> bool {
        [&self.written, &self.unanswered]
            .into_iter()
            .any(|t| t.as_ref() == Some(target))
    }

    fn any(&self) -> bool {
        self.written.is_some() || self.unanswered.is_some()
    }
}

/// What green serves after a run (from GetAlias and the version's record), and before it.
#[derive(Debug, Clone, Serialize)]
pub struct Green {
    /// `None` when green could not be read (`read_error` says why) or does not exist.
    pub version: Option<String>,
    /// Every version green routes to and its share of requests: one version with 1.0, or a
    /// split (a rollout's); empty when green could not be read.
    pub weights: BTreeMap<String, f64>,
    pub git_sha: Option<String>,
    pub build_id: Option<String>,
    /// The version green served when the run started.
    pub before: Option<String>,
    /// `weights` when the run started.
    pub before_weights: BTreeMap<String, f64>,
    pub moved: Moved,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_error: Option<String>,
}

/// Every version `target` routes to and its share: the main version gets what the others
/// leave.
fn weights(target: Option<&AliasTarget>) -> BTreeMap<String, f64> {
    let Some(target) = target else {
        return BTreeMap::new();
    };
    let others: f64 = target.additional_weights.values().sum();
    let mut all = target.additional_weights.clone();
    all.insert(target.version.clone(), 1.0 - others);
    all
}

impl Green {
    /// Judges `moved` from green before, after, and the writes this run sent it: by this run
    /// only when green serves what this run's own write put there.
    pub fn judge(
        before: Option<AliasTarget>,
        after: Result<Option<Served>, String>,
        writes: &GreenWrites,
    ) -> Self {
        let (served, read_error) = match after {
            Ok(served) => (served, None),
            Err(e) => (None, Some(e)),
        };
        let target = served.as_ref().map(|s| s.target.clone());
        let moved = match (&read_error, &target) {
            (Some(_), _) if writes.any() => Moved::Unknown,
            (Some(_), _) => Moved::Unchanged,
            (None, after) if *after == before => Moved::Unchanged,
            (None, after) if *after == writes.written => Moved::ByThisRun,
            (None, Some(after)) if writes.put_there(after) => Moved::Unknown,
            (None, _) => Moved::BySomeoneElse,
        };
        let (git_sha, build_id) = served.map_or((None, None), |s| (s.git_sha, s.build_id));
        Self {
            version: target.as_ref().map(|t| t.version.clone()),
            weights: weights(target.as_ref()),
            git_sha,
            build_id,
            before: before.as_ref().map(|t| t.version.clone()),
            before_weights: weights(before.as_ref()),
            moved,
            read_error,
        }
    }

    /// Whether this run may have moved green (so a failure must say so, exit 3).
    pub fn maybe_moved_by_this_run(&self) -> bool {
        matches!(self.moved, Moved::ByThisRun | Moved::Unknown)
    }

    /// The command that puts green back where the run found it, when it moved: on a split
    /// green, rollback to its main version also ends the split.
    pub fn put_back(&self) -> Option<String> {
        self.before
            .as_ref()
            .filter(|_| self.maybe_moved_by_this_run())
            .map(|before| format!("cargo xtask rollback --to {before}"))
    }
}

/// A version green serves (or versions, split) and the main version's build, as its record
/// tells.
#[derive(Debug, Clone)]
pub struct Served {
    pub target: AliasTarget,
    pub git_sha: Option<String>,
    pub build_id: Option<String>,
}

/// How a split green shares its requests: "70% on version 14, 30% on version 16".
struct Split<'a>(&'a BTreeMap<String, f64>);

impl fmt::Display for Split<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shares: Vec<_> = self.0.iter().collect();
        shares.sort_by(|a, b| b.1.total_cmp(a.1));
        for (i, (version, share)) in shares.into_iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(
                f,
                "{sep}{}% on version {version}",
                (share * 1000.0).round() / 10.0
            )?;
        }
        Ok(())
    }
}

/// "version 14", or "version 14 (split: 70% on version 14, 30% on version 16)".
fn routing(version: &str, weights: &BTreeMap<String, f64>) -> String {
    if weights.len() < 2 {
        format!("version {version}")
    } else {
        format!("version {version} (split: {})", Split(weights))
    }
}

/// What green serves, without whether a run moved it ([`Green::serving`]).
pub struct Serving<'a>(&'a Green);

impl Green {
    /// "green serves version 7 (git …)": what green serves, said of a region no run is
    /// judged on (the regions of an environment, read after its run).
    pub fn serving(&self) -> Serving<'_> {
        Serving(self)
    }
}

impl fmt::Display for Serving<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let green = self.0;
        match (&green.version, &green.read_error) {
            (_, Some(error)) => write!(f, "green could not be read after the run ({error})")?,
            (None, None) => write!(f, "green does not exist")?,
            (Some(version), None) => {
                write!(f, "green serves version {version}")?;
                if let Some(sha) = &green.git_sha {
                    write!(f, " (git {}", crate::ledger::short(sha))?;
                    if let Some(id) = &green.build_id {
                        write!(f, ", build {id}")?;
                    }
                    write!(f, ")")?;
                }
                if green.weights.len() > 1 {
                    write!(f, ", split: {}", Split(&green.weights))?;
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for Green {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.serving())?;
        let before = match &self.before {
            Some(version) => routing(version, &self.before_weights),
            None => "no version".into(),
        };
        match self.moved {
            Moved::ByThisRun => write!(f, "; this run moved it from {before}"),
            Moved::Unchanged => write!(f, "; unchanged by this run"),
            Moved::BySomeoneElse => write!(
                f,
                "; someone else moved it during this run (it was {before})"
            ),
            Moved::Unknown => write!(
                f,
                "; this run sent the write that moves it (from {before}) and got no answer: run `cargo xtask status`"
            ),
        }
    }
}

#[cfg(test)]
mod tests;
