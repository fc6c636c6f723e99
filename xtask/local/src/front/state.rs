//! What the front tracks beside moto, saved under the state dir so a restarted front keeps it:
//! per function Lambda's state (`bgd_rules::lambda::Function`: the image `$LATEST` runs, when it
//! turns Active and when its update ends, each version's image and states, each alias's
//! RevisionId); per role its age; CloudWatch's alarms; the access keys of assumed roles. Every
//! account's and region's resources are kept apart, keyed `ACCOUNT/REGION/NAME` (roles, which
//! IAM keeps per account alone, `ACCOUNT/NAME`).
use std::{collections::BTreeMap, path::Path};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

pub(super) use bgd_rules::lambda::{Function, Status};

#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Books {
    /// `ACCOUNT/REGION/NAME` → function.
    pub functions: BTreeMap<String, Function>,
    /// `ACCOUNT/ROLE` → when it was created (ms since the epoch). IAM is global, per account.
    pub roles: BTreeMap<String, u64>,
    /// `ACCOUNT/REGION/NAME` → CloudWatch alarm.
    #[serde(default)]
    pub alarms: BTreeMap<String, bgd_rules::cloudwatch::Alarm>,
    /// Access key id of an assumed role's session → the role's account.
    #[serde(default)]
    pub assumed: BTreeMap<String, String>,
}

/// A role's key in the books.
pub(super) fn role_key(account: &str, role: &str) -> String {
    format!("{account}/{role}")
}

/// The name in a books key (`ACCOUNT/REGION/NAME`).
pub(super) fn name_of(key: &str) -> &str {
    key.rsplit_once('/').map_or(key, |(_, name)| name)
}

/// A fresh RevisionId: a random UUID, as Lambda's.
pub(super) fn revision() -> String {
    local_gateway::runtime::random_uuid()
}

pub(super) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis().try_into().unwrap_or(u64::MAX))
}

impl Books {
    pub(crate) fn load(path: &Path) -> Result<Self> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("reading the front's books {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    pub(crate) fn save(&self, path: &Path) -> Result<()> {
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec(self)?)
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
    }
}
