//! What a deploy reports: printed once on stdout as a table or JSON, and as Markdown for
//! `$GITHUB_STEP_SUMMARY`.
use std::fmt;

use serde::Serialize;

use super::{Preflight, Watched};
use crate::{
    facts::Origin,
    image::Built,
    pipeline::{Cloud, Ctx, GREEN},
    progress::PhaseTime,
};

/// The result, printed once on stdout as a table or JSON.
#[derive(Debug, Serialize)]
pub struct Report {
    pub outcome: Outcome,
    pub function: String,
    pub version: Option<u64>,
    pub previous: Option<u64>,
    pub git_sha: String,
    pub digest: String,
    pub green_url: Option<String>,
    /// Only with `--keep-blue`: reach it with the token (`status --show-token`).
    pub blue_url: Option<String>,
    pub phases: Vec<PhaseTime>,
    /// With `--dry-run`: what a real run would write; with `--hold`: what to do next.
    pub plan: Vec<String>,
    /// With `--hold`: the version verified on blue, waiting for `promote`.
    pub held: Option<u64>,
    /// AWS write calls this run sent (filled in by the caller, which owns the metered cloud).
    pub write_calls: usize,
    /// What a canary, linear or baked rollout watched.
    pub rollout: Option<Watched>,
    /// `--from`: the environment and version the image was taken from; its digest is the
    /// source's, which `digest` must equal (`same_image`).
    pub origin: Option<Origin>,
    pub same_image: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Deployed,
    AlreadyDeployed,
    Planned,
    /// `--hold`: verified on blue, waiting for `promote`.
    Held,
    /// `--hand-off`: the rollout began and outlasts this run; `resume` carries it on.
    HandedOff,
}

/// The report of a run that has changed nothing yet: green as preflight read it, the build.
pub(super) fn report<C: Cloud>(ctx: &Ctx<C>, pre: &Preflight, built: &Built) -> Report {
    Report {
        outcome: Outcome::AlreadyDeployed,
        function: ctx.function().into(),
        version: pre.green.target.version.parse().ok(),
        previous: None,
        git_sha: built.facts.git_sha.clone(),
        digest: built.digest.clone(),
        green_url: Some(ctx.stage_url(&pre.api, GREEN)),
        blue_url: None,
        phases: Vec::new(),
        plan: Vec::new(),
        held: None,
        write_calls: 0,
        rollout: None,
        origin: built.origin.clone(),
        same_image: built.origin.as_ref().map(|o| o.digest == built.digest),
    }
}

impl Outcome {
    /// How a run that reached green ended: deployed, or its rollout handed off (`--hand-off`).
    pub(crate) fn of(rollout: Option<&Watched>) -> Self {
        if rollout.is_some_and(|w| w.handed_off.is_some()) {
            Self::HandedOff
        } else {
            Self::Deployed
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let outcome = match self.outcome {
            Outcome::Deployed => "deployed",
            Outcome::AlreadyDeployed => "already deployed (nothing written)",
            Outcome::Planned => "planned (--dry-run: nothing written)",
            Outcome::Held => "held: verified on blue, green unchanged",
            Outcome::HandedOff => {
                "rolling out: verified on blue, the rollout handed off to `cargo xtask resume`"
            }
        };
        writeln!(f, "{:<10} {outcome}", "outcome")?;
        writeln!(f, "{:<10} {}", "function", self.function)?;
        if let Some(version) = self.version {
            let from = self
                .previous
                .map(|p| format!(" (was {p})"))
                .unwrap_or_default();
            writeln!(f, "{:<10} {version}{from}", "version")?;
        }
        writeln!(f, "{:<10} {}", "git sha", self.git_sha)?;
        writeln!(f, "{:<10} {}", "digest", self.digest)?;
        if let Some(origin) = &self.origin {
            let same = if self.same_image == Some(true) {
                "the same image"
            } else {
                "ANOTHER image"
            };
            writeln!(
                f,
                "{:<10} {} version {}: {same} ({})",
                "from", origin.environment, origin.version, origin.digest
            )?;
        }
        if let Some(url) = &self.green_url {
            writeln!(f, "{:<10} {url}", "green")?;
        }
        if let Some(url) = &self.blue_url {
            writeln!(f, "{:<10} {url} (kept; needs x-verify-token)", "blue")?;
        }
        if let Some(rollout) = &self.rollout {
            writeln!(f, "{:<10} {rollout}", "rollout")?;
        }
        let label = if self.outcome == Outcome::Held {
            "next"
        } else {
            "would"
        };
        for step in &self.plan {
            writeln!(f, "{label:<10} {step}")?;
        }
        writeln!(f, "{:<10} {}", "writes", self.write_calls)?;
        for phase in &self.phases {
            writeln!(
                f,
                "{:<10} {:<12} {:>7.2}s{}",
                "phase",
                phase.phase,
                phase.seconds,
                if phase.ok { "" } else { "  FAILED" }
            )?;
        }
        Ok(())
    }
}

impl Report {
    /// The Markdown for `$GITHUB_STEP_SUMMARY`.
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "### bgd deploy: {:?}\n\n| | |\n|---|---|\n| function | `{}` |\n| version | {} |\n| git sha | `{}` |\n| digest | `{}` |\n",
            self.outcome,
            self.function,
            self.version.map_or("-".into(), |v| v.to_string()),
            self.git_sha,
            self.digest
        );
        if let Some(url) = &self.green_url {
            out.push_str(&format!("| green | {url} |\n"));
        }
        out.push_str("\n| phase | seconds |\n|---|---|\n");
        for phase in &self.phases {
            out.push_str(&format!("| {} | {:.2} |\n", phase.phase, phase.seconds));
        }
        out
    }
}
