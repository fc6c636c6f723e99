//! What `local up` started, remembered under the state dir (`target/local/state.json`), so
//! `down`, `status` and `env` act on exactly those processes; and where in that dir the
//! components keep their files.
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::endpoints::DEFAULT_ACCOUNT;

/// One process `up` started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Started {
    pub pid: u32,
    pub port: u16,
    /// When it started, in clock ticks after boot (`/proc/PID/stat`): a pid the kernel gave
    /// to another process since has another start time. `None` in a state file written
    /// before it was recorded.
    #[serde(default)]
    pub started_at: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct State {
    /// Component name (`moto`, `registry`, `gateway`) → its process.
    pub components: BTreeMap<String, Started>,
}

impl State {
    pub(super) fn file(dir: &Path) -> PathBuf {
        dir.join("state.json")
    }

    /// The remembered state; empty when nothing was started here yet.
    pub(super) fn load(dir: &Path) -> Result<Self> {
        let file = Self::file(dir);
        match std::fs::read(&file) {
            Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| {
                format!(
                    "{} is corrupt: delete it after stopping its processes",
                    file.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", file.display())),
        }
    }

    pub(super) fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let file = Self::file(dir);
        let partial = file.with_extension("json.partial");
        std::fs::write(&partial, serde_json::to_vec_pretty(self)?)
            .with_context(|| format!("writing {}", partial.display()))?;
        std::fs::rename(&partial, &file).with_context(|| format!("writing {}", file.display()))
    }
}

/// Where the functions of `account` in `region` log under a local cloud's state dir, apart as
/// CloudWatch keeps each account's and region's log groups: the default account's in
/// `default_region` (deploy.toml's) in `functions/`, every other's in
/// `functions/ACCOUNT/REGION/`.
pub(super) fn function_logs(
    state_dir: &Path,
    account: &str,
    region: &str,
    default_region: &str,
) -> PathBuf {
    let logs = state_dir.join("functions");
    if account == DEFAULT_ACCOUNT && region == default_region {
        logs
    } else {
        logs.join(account).join(region)
    }
}
