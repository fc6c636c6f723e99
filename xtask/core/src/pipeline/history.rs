//! `history`: reads only. Every published version with its build, whether blue verified it,
//! and which alias serves it.
use std::fmt;

use anyhow::{Context, Result};
use serde::Serialize;

use super::{BLUE, Cloud, Ctx, GREEN, absent_as_none};
use crate::ledger::{self, VersionRecord};

#[derive(Debug, Serialize)]
pub struct HistoryEntry {
    pub version: u64,
    pub record: Option<VersionRecord>,
    /// Blue verified this very version (the rule of `ledger::verification`).
    pub verified: bool,
    pub green: bool,
    pub blue: bool,
}

/// Every published version, oldest first: `history`'s result (JSON `{"versions": [...]}`, or
/// the table).
#[derive(Debug, Serialize)]
pub struct History {
    pub versions: Vec<HistoryEntry>,
}

pub async fn history<C: Cloud>(ctx: &Ctx<C>) -> Result<History> {
    let function = ctx.function();
    let versions = ctx.cloud.list_versions(function).await?;
    let alias_version = |alias| async move {
        absent_as_none(ctx.cloud.get_alias(function, alias).await)
            .map(|a| a.map(|a| a.target.version))
    };
    let (green, blue) = (alias_version(GREEN).await?, alias_version(BLUE).await?);
    let (registry, repository) = ctx.registry().await?;
    let mut entries = Vec::new();
    for listed in versions {
        let number: u64 = listed
            .version
            .parse()
            .with_context(|| format!("version {:?}", listed.version))?;
        // ListVersionsByFunction does not say which image a version runs; GetFunction does,
        // and the verification rule needs it.
        let v = ctx.cloud.get_version(function, &listed.version).await?;
        let verified = ctx
            .verification(&registry, &repository.name, &v)
            .await?
            .is_ok();
        entries.push(HistoryEntry {
            version: number,
            record: VersionRecord::parse(&v.description).ok(),
            verified,
            green: green.as_deref() == Some(v.version.as_str()),
            blue: blue.as_deref() == Some(v.version.as_str()),
        });
    }
    Ok(History { versions: entries })
}

impl fmt::Display for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&table(&self.versions))
    }
}

fn table(entries: &[HistoryEntry]) -> String {
    let mut out = format!(
        "{:<8} {:<13} {:<21} {:<9} {}\n",
        "version", "git", "published", "verified", "aliases"
    );
    for e in entries {
        let (git, at) = e.record.as_ref().map_or(("?", "?"), |r| {
            (ledger::short(&r.git_sha), r.published_at.as_str())
        });
        let aliases = [(e.green, GREEN), (e.blue, BLUE)]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, a)| *a)
            .collect::<Vec<_>>()
            .join(",");
        out.push_str(&format!(
            "{:<8} {:<13} {:<21} {:<9} {}\n",
            e.version,
            git,
            at,
            if e.verified { "yes" } else { "no" },
            aliases
        ));
    }
    out
}
