//! What the front tracks beside moto, saved under the state dir so a restarted front keeps it:
//! per function the image `$LATEST` runs, when it turns Active and when its update ends, and
//! per published version its image and states; per alias its RevisionId; per role its age.
use std::{collections::BTreeMap, path::Path};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::rules::Delays;

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Books {
    /// `REGION/NAME` → function.
    pub functions: BTreeMap<String, Function>,
    /// Role name → when it was created (ms since the epoch). IAM is global.
    pub roles: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Function {
    /// `$LATEST`'s ImageUri (`REPO@sha256:…`).
    pub image: String,
    /// Pending until then (a new function, while Lambda optimises its image).
    pub active_at: u64,
    /// LastUpdateStatus InProgress until then; `None` before the first update (a new
    /// function reports no LastUpdateStatus).
    pub updated_at: Option<u64>,
    pub revision: String,
    /// `$LATEST`'s `Architectures` (one name): moto keeps CreateFunction's and ignores
    /// UpdateFunctionCode's, which switches it on AWS.
    #[serde(default = "lambda_default_architecture")]
    pub architecture: String,
    pub versions: BTreeMap<String, Published>,
    /// Alias name → its RevisionId.
    pub aliases: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Published {
    pub image: String,
    /// What `$LATEST` ran on when this version was published: a version keeps it.
    #[serde(default = "lambda_default_architecture")]
    pub architecture: String,
    /// Pending until then.
    pub active_at: u64,
    /// The last invocation (or activation): idle since then.
    pub used_at: u64,
}

/// Lambda's `State` of a function or version at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pending,
    Active,
    Inactive,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Active => "Active",
            Self::Inactive => "Inactive",
        }
    }
}

impl Published {
    pub fn status(&self, now: u64, delays: &Delays) -> Status {
        if now < self.active_at {
            Status::Pending
        } else if now.saturating_sub(self.used_at.max(self.active_at)) > delays.idle_ms {
            Status::Inactive
        } else {
            Status::Active
        }
    }
}

impl Function {
    pub fn status(&self, now: u64) -> Status {
        if now < self.active_at {
            Status::Pending
        } else {
            Status::Active
        }
    }

    pub fn updating(&self, now: u64) -> bool {
        self.updated_at.is_some_and(|end| now < end)
    }
}

/// What Lambda runs a function on when nobody said (and what books written before the front
/// kept architectures hold).
pub fn lambda_default_architecture() -> String {
    "x86_64".into()
}

/// A fresh RevisionId: a random UUID, as Lambda's.
pub fn revision() -> String {
    local_gateway::runtime::random_uuid()
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis().try_into().unwrap_or(u64::MAX))
}

impl Books {
    pub fn load(path: &Path) -> Result<Self> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("reading the front's books {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec(self)?)
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
    }
}
