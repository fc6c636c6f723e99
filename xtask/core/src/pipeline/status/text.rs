//! `status` and `verify` as text: a line per alias, its split, a stage and what it reports.
use std::fmt;

use super::{AliasStatus, StageStatus, StageVerified, Status};

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "function {}", self.function)?;
        for alias in &self.aliases {
            write!(f, "{alias}")?;
        }
        for (version, counts) in self.traffic.iter().flatten() {
            writeln!(
                f,
                "  green traffic (5 min) version {version}: {counts} requests"
            )?;
        }
        for stage in &self.stages {
            write!(f, "{stage}")?;
        }
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        Ok(())
    }
}

/// An alias's lines in `status`: its version and build, then its split.
impl fmt::Display for AliasStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "  alias {:<6} → version {:<4} {:<12}",
            self.alias,
            self.version,
            if self.verified {
                "verified"
            } else {
                "not verified"
            }
        )?;
        match &self.record {
            Some(r) => writeln!(
                f,
                " git {} digest {} published {} by {}",
                crate::ledger::short(&r.git_sha),
                r.digest,
                r.published_at,
                r.actor
            )?,
            None => writeln!(f, " (no build record)")?,
        }
        for (version, weight) in &self.weights {
            writeln!(f, "    split: {:.0}% on version {version}", weight * 100.0)?;
        }
        Ok(())
    }
}

/// A stage's lines in `status`: its URL, variables and what it reports live (or the first
/// line of why it could not be asked).
impl fmt::Display for StageStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "  stage {:<6} {}", self.stage, self.url)?;
        for (k, v) in &self.variables {
            writeln!(f, "    {k} = {v}")?;
        }
        match (&self.reports, &self.report_error) {
            (Some(r), _) => writeln!(
                f,
                "    reports version {} alias {} build {}",
                r.version.as_deref().unwrap_or("?"),
                r.alias.as_deref().unwrap_or("none"),
                crate::ledger::short(&r.build.git_sha)
            ),
            (None, e) => writeln!(
                f,
                "    could not ask it: {}",
                e.as_deref()
                    .unwrap_or_default()
                    .lines()
                    .next()
                    .unwrap_or_default()
            ),
        }
    }
}

impl fmt::Display for StageVerified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let report = &self.report;
        writeln!(
            f,
            "stage {} verified: version {} alias {} build {}",
            self.stage,
            report.version.as_deref().unwrap_or("?"),
            report.alias.as_deref().unwrap_or("none"),
            report.build.git_sha
        )
    }
}
