//! How a run ends, for people and for CI scripts: the exit code (one list, the README's) and a
//! true statement of what green serves afterwards and whether this run moved it, read from
//! the cloud after the run rather than assumed from how far the run got.
use std::fmt;

use serde::Serialize;

/// Exit codes. Every failure but [`Exit::GreenMoved`] leaves green as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
    pub const ALL: [Exit; 9] = [
        Exit::Done,
        Exit::Failed,
        Exit::Usage,
        Exit::GreenMoved,
        Exit::LockHeld,
        Exit::VerificationFailed,
        Exit::Pinned,
        Exit::RolledBack,
        Exit::Findings,
    ];

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

/// Whether green moved during the run, judged from green before and after and the write
/// this run attempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Moved {
    ByThisRun,
    Unchanged,
    BySomeoneElse,
    /// Green could not be read after the run, and this run had sent a write to it.
    Unknown,
}

/// What green serves after a run (from GetAlias and the version's record).
#[derive(Debug, Clone, Serialize)]
pub struct Green {
    /// `None` when green could not be read (`read_error` says why) or does not exist.
    pub version: Option<String>,
    pub git_sha: Option<String>,
    pub build_id: Option<String>,
    /// The version green served when the run started.
    pub before: Option<String>,
    pub moved: Moved,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_error: Option<String>,
}

impl Green {
    /// Judges `moved` from green before, after, and the version this run tried to set.
    pub fn judge(
        before: Option<String>,
        after: Result<Option<Served>, String>,
        attempt: Option<u64>,
    ) -> Self {
        let attempted = attempt.map(|v| v.to_string());
        let (served, read_error) = match after {
            Ok(served) => (served, None),
            Err(e) => (None, Some(e)),
        };
        let version = served.as_ref().map(|s| s.version.clone());
        let moved = match (&read_error, &version) {
            (Some(_), _) if attempted.is_some() => Moved::Unknown,
            (Some(_), _) => Moved::Unchanged,
            (None, after) if *after == before => Moved::Unchanged,
            (None, after) if after.is_some() && *after == attempted => Moved::ByThisRun,
            (None, _) => Moved::BySomeoneElse,
        };
        let (git_sha, build_id) = served.map_or((None, None), |s| (s.git_sha, s.build_id));
        Self {
            version,
            git_sha,
            build_id,
            before,
            moved,
            read_error,
        }
    }

    /// Whether this run may have moved green (so a failure must say so, exit 3).
    pub fn maybe_moved_by_this_run(&self) -> bool {
        matches!(self.moved, Moved::ByThisRun | Moved::Unknown)
    }

    /// The command that puts green back where the run found it, when it moved.
    pub fn put_back(&self) -> Option<String> {
        self.before
            .as_ref()
            .filter(|_| self.maybe_moved_by_this_run())
            .map(|before| format!("cargo xtask rollback --to {before}"))
    }
}

/// A version green serves and its build, as its record tells.
#[derive(Debug, Clone)]
pub struct Served {
    pub version: String,
    pub git_sha: Option<String>,
    pub build_id: Option<String>,
}

impl fmt::Display for Green {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.version, &self.read_error) {
            (_, Some(error)) => write!(f, "green could not be read after the run ({error})")?,
            (None, None) => write!(f, "green does not exist")?,
            (Some(version), None) => {
                write!(f, "green serves version {version}")?;
                if let Some(sha) = &self.git_sha {
                    write!(f, " (git {}", crate::ledger::short(sha))?;
                    if let Some(id) = &self.build_id {
                        write!(f, ", build {id}")?;
                    }
                    write!(f, ")")?;
                }
            }
        }
        let before = self.before.as_deref().unwrap_or("none");
        match self.moved {
            Moved::ByThisRun => write!(f, "; this run moved it from version {before}"),
            Moved::Unchanged => write!(f, "; unchanged by this run"),
            Moved::BySomeoneElse => write!(
                f,
                "; someone else moved it during this run (it was version {before})"
            ),
            Moved::Unknown => write!(
                f,
                "; this run sent the write that moves it (from version {before}): run `cargo xtask status`"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(version: &str) -> Served {
        Served {
            version: version.into(),
            git_sha: Some("abc".into()),
            build_id: None,
        }
    }

    #[test]
    fn green_moved_only_when_it_now_serves_what_this_run_asked_for() {
        let moved = Green::judge(Some("6".into()), Ok(Some(served("7"))), Some(7));
        assert_eq!(moved.moved, Moved::ByThisRun);
        assert_eq!(
            moved.put_back().as_deref(),
            Some("cargo xtask rollback --to 6")
        );
        let unchanged = Green::judge(Some("6".into()), Ok(Some(served("6"))), Some(7));
        assert_eq!(unchanged.moved, Moved::Unchanged);
        assert_eq!(unchanged.put_back(), None);
        let other = Green::judge(Some("6".into()), Ok(Some(served("5"))), Some(7));
        assert_eq!(other.moved, Moved::BySomeoneElse);
        let unknown = Green::judge(Some("6".into()), Err("down".into()), Some(7));
        assert_eq!(unknown.moved, Moved::Unknown);
        assert!(unknown.maybe_moved_by_this_run());
        let never_tried = Green::judge(Some("6".into()), Err("down".into()), None);
        assert_eq!(never_tried.moved, Moved::Unchanged);
    }

    #[test]
    fn the_outermost_code_wins_and_plain_errors_are_one() {
        assert_eq!(exit_of(&anyhow::anyhow!("plain")), Exit::Failed);
        let inner = refuse(Exit::VerificationFailed, "blue answered 503");
        assert_eq!(exit_of(&inner), Exit::VerificationFailed);
        let outer = inner.context(Refused {
            exit: Exit::GreenMoved,
            message: "green moved".into(),
        });
        assert_eq!(exit_of(&outer), Exit::GreenMoved);
    }
}
