//! The facts of the commit an image is built from: what the app bakes in, what the ledger
//! records, what blue is checked against. A leaf: the image, the ledger and the probes use it.
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use xshell::{Shell, cmd};

/// What the app bakes in and the deploy later checks blue against.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BuildFacts {
    pub git_sha: String,
    pub dirty: bool,
    /// The commit time, RFC 3339 UTC: the image's `created` and the app's `built_at`.
    pub built_at: String,
    pub commit_epoch: u64,
    /// Tells apart two images of one commit (`--build-id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_id: Option<String>,
}

impl BuildFacts {
    /// The facts of the commit checked out at `root`.
    pub fn from_git(sh: &Shell, root: &Path, build_id: Option<String>) -> Result<Self> {
        let _dir = sh.push_dir(root);
        let _utc = sh.push_env("TZ", "UTC");
        let git_sha = cmd!(sh, "git rev-parse HEAD")
            .quiet()
            .read()
            .context("reading the commit (the workspace must be a git checkout with a commit)")?;
        let dirty = !cmd!(
            sh,
            "git --no-optional-locks status --porcelain --untracked-files=no"
        )
        .quiet()
        .read()?
        .is_empty();
        let built_at = cmd!(
            sh,
            "git log -1 --date=format-local:%Y-%m-%dT%H:%M:%SZ --format=%cd"
        )
        .quiet()
        .read()?;
        let commit_epoch = cmd!(sh, "git log -1 --format=%ct")
            .quiet()
            .read()?
            .parse()?;
        Ok(Self {
            git_sha,
            dirty,
            built_at,
            commit_epoch,
            build_id,
        })
    }
}

/// Where an image promoted from another environment came from (`deploy --from`): the version
/// green served there and its image, which the promotion ships unchanged.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Origin {
    pub environment: String,
    pub version: u64,
    pub digest: String,
}

/// The hex part of `sha256:HEX`.
pub(crate) fn hex_of(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap_or(digest)
}
