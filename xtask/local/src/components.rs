//! The four processes of the local cloud: how each starts and how each shows it is healthy.
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;
use xshell::Shell;

use bgd_core::setup;
use local_gateway::architecture::{Architecture, EMULATOR_PACKAGE};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Component {
    Moto,
    Registry,
    /// The strict front before moto: what the SDK talks to.
    Front,
    Gateway,
}

/// What a component needs to start, besides its port.
pub(crate) struct Launch<'a> {
    pub state_dir: &'a Path,
    /// The xtask binary, which serves the gateway (`local gateway`).
    pub gateway_exe: &'a Path,
    pub moto_url: &'a str,
    pub registry_url: &'a str,
    pub front_url: &'a str,
    pub region: &'a str,
    /// Run functions as host processes, not in Lambda's sandbox.
    pub unsandboxed: bool,
}

impl Component {
    /// In start order: the front forwards to moto and names the registry; the gateway reads
    /// the front and pulls from the registry.
    pub const ALL: [Component; 4] = [Self::Moto, Self::Registry, Self::Front, Self::Gateway];

    pub fn name(self) -> &'static str {
        match self {
            Self::Moto => "moto",
            Self::Registry => "registry",
            Self::Front => "front",
            Self::Gateway => "gateway",
        }
    }

    pub fn url(port: u16) -> String {
        format!("http://127.0.0.1:{port}")
    }

    /// A URL that answers 200 once the component serves.
    pub(crate) fn health_url(self, port: u16) -> String {
        let path = match self {
            Self::Moto => "/moto-api/config",
            Self::Registry => "/v2/",
            Self::Front => super::front::HEALTH_PATH,
            Self::Gateway => super::gateway::HEALTH_PATH,
        };
        format!("{}{path}", Self::url(port))
    }

    pub fn log_file(self, state_dir: &Path) -> PathBuf {
        state_dir.join(format!("{}.log", self.name()))
    }

    /// The program and arguments that run this component on `port`.
    pub(crate) fn command(self, launch: &Launch<'_>, port: u16) -> Result<(PathBuf, Vec<String>)> {
        let sh = Shell::new()?;
        Ok(match self {
            Self::Moto => {
                let bin = setup::ensure_moto(&sh)?;
                let args = ["-H", "127.0.0.1", "-p", &port.to_string()];
                (bin.join("moto_server"), args.map(String::from).to_vec())
            }
            Self::Registry => {
                setup::ensure_debian_package(&sh, "docker-registry", REGISTRY_BIN)?;
                // The port in the file name lets `status` recognise the process by its command line.
                let config = launch.state_dir.join(format!("registry-{port}.yml"));
                std::fs::write(&config, registry_config(launch.state_dir, port))
                    .with_context(|| format!("writing {}", config.display()))?;
                let args = vec!["serve".into(), config.display().to_string()];
                (PathBuf::from(REGISTRY_BIN), args)
            }
            Self::Front => {
                let args = [
                    "local",
                    "front",
                    "--port",
                    &port.to_string(),
                    "--state-dir",
                    &launch.state_dir.display().to_string(),
                    "--moto-url",
                    launch.moto_url,
                    "--registry-url",
                    launch.registry_url,
                    "--region",
                    launch.region,
                ];
                (
                    launch.gateway_exe.to_owned(),
                    args.map(String::from).to_vec(),
                )
            }
            Self::Gateway => {
                // Functions of the other architecture run under its emulator: without it only
                // they fail to start (saying so), so a missing one does not stop the cloud.
                if let Err(e) = ensure_emulator(&sh) {
                    eprintln!("warning: {e:#}; functions of the other architecture will not start");
                }
                if !launch.unsandboxed {
                    setup::ensure_debian_package(&sh, "bubblewrap", "/usr/bin/bwrap")?;
                    // Refused here, with the reason, rather than run functions unsandboxed.
                    local_gateway::sandbox::Sandbox::detect().context(
                        "the local data plane cannot run functions in Lambda's sandbox here; `cargo xtask local up --unsandboxed` (or BGD_LOCAL_UNSANDBOXED=1) runs them as host processes instead",
                    )?;
                }
                let mut args = [
                    "local",
                    "gateway",
                    "--port",
                    &port.to_string(),
                    "--state-dir",
                    &launch.state_dir.display().to_string(),
                    "--moto-url",
                    launch.front_url,
                    "--region",
                    launch.region,
                ]
                .map(String::from)
                .to_vec();
                if launch.unsandboxed {
                    args.push("--unsandboxed".into());
                }
                (launch.gateway_exe.to_owned(), args)
            }
        })
    }
}

const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

/// CNCF Distribution on loopback, storing under the state dir; deletes allowed so a test can
/// remove an image.
fn registry_config(state_dir: &Path, port: u16) -> String {
    format!(
        "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
        state_dir.join("registry").display()
    )
}

/// moto's Lambda runs functions in Docker unless told otherwise; there is no Docker here, and
/// the gateway runs the functions instead. Set before anything creates a function.
pub(super) async fn configure_moto(http: &reqwest::Client, moto_url: &str) -> Result<()> {
    http.post(format!("{moto_url}/moto-api/config"))
        .json(&serde_json::json!({"lambda": {"use_docker": false}}))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .with_context(|| format!("setting moto's no-Docker Lambda mode at {moto_url}"))?;
    Ok(())
}

/// The static qemu-user that runs functions of the architecture this machine is not (arm64 on
/// x86_64), for the local data plane.
pub fn ensure_emulator(sh: &Shell) -> Result<()> {
    for emulator in [Architecture::X86_64, Architecture::Arm64]
        .into_iter()
        .filter_map(Architecture::emulated_by)
    {
        setup::ensure_debian_package(sh, EMULATOR_PACKAGE, &emulator.display().to_string())?;
    }
    Ok(())
}
