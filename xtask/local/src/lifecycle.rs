//! `up`, `down` and `status` of the local cloud, as a library so tests drive the same code:
//! each component is reused while healthy, (re)started otherwise, and stopped only by the pid
//! `up` recorded.
use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use xshell::Shell;

use super::{
    components::{Component, Launch, configure_moto},
    endpoints::{DEFAULT_ACCOUNT, Endpoints},
    liveness::{answers_within, health_client, healthy, wait_healthy},
    process,
    state::{Started, State, function_logs},
};
use bgd_core::{config::Config, setup};

/// How long a running component that does not answer yet (an `up` that was interrupted while
/// it started) gets before it counts as dead and is restarted.
const SETTLE: Duration = Duration::from_secs(5);
/// How long a running moto that does not answer (a loaded machine) is waited for.
const MOTO_PATIENCE: Duration = Duration::from_secs(30);
/// How many ports a component is tried on before `up` gives up.
const START_ATTEMPTS: u32 = 3;
/// How long a component gets to exit on SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// A local cloud whose processes and files live under one state dir.
#[derive(Debug, Clone)]
pub struct LocalCloud {
    dir: PathBuf,
    /// The gateway runs functions as host processes (`local up --unsandboxed`).
    unsandboxed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ComponentStatus {
    pub component: Component,
    pub pid: Option<u32>,
    pub url: Option<String>,
    /// The recorded process runs.
    pub running: bool,
    /// It answers its health check.
    pub healthy: bool,
}

impl LocalCloud {
    /// The local cloud of this workspace (`target/local/`), or of the folder `BGD_LOCAL_DIR`
    /// names (the end-to-end tests run one each).
    pub fn workspace() -> Self {
        match std::env::var_os("BGD_LOCAL_DIR") {
            Some(dir) => Self::at(dir),
            None => Self::at(setup::target_dir().join("local")),
        }
    }

    /// Where the gateway appends the output of a function of the default account in
    /// deploy.toml's region (its "log group").
    pub fn function_log(&self, function: &str) -> PathBuf {
        self.function_log_in(None, &region(), function)
    }

    /// Where the gateway appends the output of a function of `account` (`None`: the default
    /// one) in `region`.
    pub fn function_log_in(&self, account: Option<&str>, region: &str, function: &str) -> PathBuf {
        let account = account.unwrap_or(DEFAULT_ACCOUNT);
        function_logs(&self.dir, account, region, &self::region()).join(format!("{function}.log"))
    }

    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            unsandboxed: false,
        }
    }

    /// Whether `up` starts the gateway unsandboxed (a running gateway of the other kind is
    /// restarted).
    pub fn unsandboxed(self, unsandboxed: bool) -> Self {
        Self {
            unsandboxed,
            ..self
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts what is not running healthy, waits until each answers; `gateway_exe` is the
    /// xtask binary (it serves `local gateway`). When one fails, what this call started is
    /// stopped again (a failed `up`, in a test or in CI, leaves no process behind); what it
    /// found running stays.
    pub async fn up(&self, gateway_exe: &Path) -> Result<Endpoints> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        let before = State::load(&self.dir)?;
        match self.start_all(gateway_exe).await {
            Ok(endpoints) => Ok(endpoints),
            Err(error) => match self.stop_started_since(&before) {
                Ok(stopped) => Err(error.context(format!(
                    "local up failed; stopped what it had started: {}",
                    if stopped.is_empty() {
                        "nothing".to_owned()
                    } else {
                        stopped.join(", ")
                    }
                ))),
                Err(also) => Err(error.context(format!(
                    "local up failed, and stopping what it started failed too ({also:#}): run `cargo xtask local down`"
                ))),
            },
        }
    }

    /// Stops every process recorded now that `before` did not record; returns them.
    fn stop_started_since(&self, before: &State) -> Result<Vec<String>> {
        let sh = Shell::new()?;
        let mut state = State::load(&self.dir)?;
        let mut stopped = Vec::new();
        for component in Component::ALL.into_iter().rev() {
            let name = component.name();
            let Some(s) = state.components.get(name).copied() else {
                continue;
            };
            if before.components.get(name) == Some(&s) {
                continue;
            }
            if process::is_ours(&s) {
                process::stop(&sh, s.pid, STOP_GRACE)?;
            }
            state.components.remove(name);
            state.save(&self.dir)?;
            stopped.push(format!("{name} (pid {})", s.pid));
        }
        Ok(stopped)
    }

    async fn start_all(&self, gateway_exe: &Path) -> Result<Endpoints> {
        let http = health_client()?;
        let region = region();
        let mut state = State::load(&self.dir)?;
        let mut dependency_restarted = false;
        for component in Component::ALL {
            let recorded = state.components.get(component.name()).copied();
            let reusable = match recorded {
                // The front and the gateway were started with the URLs of what they read.
                Some(_)
                    if matches!(component, Component::Front | Component::Gateway)
                        && dependency_restarted =>
                {
                    false
                }
                Some(s)
                    if component == Component::Gateway
                        && process::mentions(s.pid, "--unsandboxed") != self.unsandboxed =>
                {
                    false
                }
                // moto keeps the whole control plane in memory: a restart would silently
                // lose every function, alias and API, so a slow moto is waited for, and one
                // that still does not answer is reported, not replaced.
                Some(s) if process::is_ours(&s) && component == Component::Moto => {
                    if !answers_within(&http, component, s.pid, s.port, MOTO_PATIENCE).await
                        && process::is_alive(s.pid)
                    {
                        bail!(
                            "moto (pid {}) runs but has not answered on port {} for {} s; restarting it would lose the local cloud's state: run `cargo xtask local down`, then try again",
                            s.pid,
                            s.port,
                            MOTO_PATIENCE.as_secs()
                        );
                    }
                    process::is_alive(s.pid)
                }
                Some(s) if process::is_ours(&s) => {
                    answers_within(&http, component, s.pid, s.port, SETTLE).await
                }
                _ => false,
            };
            let port = match recorded.filter(|_| reusable) {
                Some(s) => {
                    eprintln!("local: {} is running (pid {})", component.name(), s.pid);
                    s.port
                }
                None => {
                    self.start(&http, &mut state, component, gateway_exe, &region)
                        .await?
                }
            };
            if component == Component::Moto && recorded.is_some() && !reusable {
                // moto keeps its state in memory: a new moto knows no function, API or stage.
                eprintln!(
                    "local: warning: moto was restarted, so the local AWS state (functions, APIs, stages) is gone; `cargo xtask deploy --local` provisions again"
                );
            }
            dependency_restarted |= !reusable;
            if component == Component::Moto {
                configure_moto(&http, &Component::url(port)).await?;
            }
        }
        self.endpoints_with(&state, region)
    }

    /// Starts `component` (stopping a recorded process that does not answer) and waits until
    /// it answers; returns its port.
    async fn start(
        &self,
        http: &reqwest::Client,
        state: &mut State,
        component: Component,
        gateway_exe: &Path,
        region: &str,
    ) -> Result<u16> {
        let recorded = state.components.get(component.name()).copied();
        if let Some(s) = recorded.filter(process::is_ours) {
            eprintln!("local: restarting {} (pid {})", component.name(), s.pid);
            process::stop(&Shell::new()?, s.pid, STOP_GRACE)?;
        }
        let mut port = recorded
            .map(|s| s.port)
            .filter(|port| process::port_is_free(*port))
            .map_or_else(process::free_port, Ok)?;
        let moto_url = url_of(state, Component::Moto);
        let registry_url = url_of(state, Component::Registry);
        let front_url = url_of(state, Component::Front);
        let launch = Launch {
            state_dir: &self.dir,
            gateway_exe,
            moto_url: &moto_url,
            registry_url: &registry_url,
            front_url: &front_url,
            region,
            unsandboxed: self.unsandboxed,
        };
        let log = component.log_file(&self.dir);
        // A free port can be taken by another local cloud starting at the same moment (the
        // end-to-end tests run several): our process then exits at once; try another port.
        let mut attempt = 1;
        loop {
            let (program, args) = component.command(&launch, port)?;
            let pid = process::spawn(&program, &args, &log)?;
            // Recorded before waiting, so `down` stops it even if it never answers.
            state.components.insert(
                component.name().into(),
                Started {
                    pid,
                    port,
                    started_at: process::start_time(pid),
                },
            );
            state.save(&self.dir)?;
            eprintln!(
                "local: started {} (pid {pid}, port {port})",
                component.name()
            );
            match wait_healthy(http, component, pid, port, &log).await {
                Err(_) if attempt < START_ATTEMPTS && !process::is_alive(pid) => {
                    attempt += 1;
                    port = process::free_port()?;
                }
                other => return other.map(|()| port),
            }
        }
    }

    /// Stops every process `up` recorded (by pid, with its process group); returns what stopped.
    pub fn down(&self) -> Result<Vec<(Component, u32)>> {
        let sh = Shell::new()?;
        let mut state = State::load(&self.dir)?;
        let mut stopped = Vec::new();
        for component in Component::ALL.into_iter().rev() {
            let Some(s) = state.components.remove(component.name()) else {
                continue;
            };
            if process::is_ours(&s) {
                process::stop(&sh, s.pid, STOP_GRACE)
                    .with_context(|| format!("stopping {} (pid {})", component.name(), s.pid))?;
                stopped.push((component, s.pid));
            }
            state.save(&self.dir)?;
        }
        Ok(stopped)
    }

    pub async fn status(&self) -> Result<Vec<ComponentStatus>> {
        let http = health_client()?;
        let state = State::load(&self.dir)?;
        let mut statuses = Vec::new();
        for component in Component::ALL {
            let recorded = state.components.get(component.name()).copied();
            let running = recorded.is_some_and(|s| process::is_ours(&s));
            let healthy = match recorded {
                Some(s) if running => healthy(&http, component, s.port).await,
                _ => false,
            };
            statuses.push(ComponentStatus {
                component,
                pid: recorded.map(|s| s.pid),
                url: recorded.map(|s| Component::url(s.port)),
                running,
                healthy,
            });
        }
        Ok(statuses)
    }

    /// The endpoints `up` recorded.
    pub fn endpoints(&self) -> Result<Endpoints> {
        self.endpoints_with(&State::load(&self.dir)?, region())
    }

    fn endpoints_with(&self, state: &State, region: String) -> Result<Endpoints> {
        if Component::ALL
            .iter()
            .any(|c| !state.components.contains_key(c.name()))
        {
            bail!(
                "the local cloud at {} is not up: run cargo xtask local up",
                self.dir.display()
            );
        }
        Ok(Endpoints {
            front_url: url_of(state, Component::Front),
            moto_url: url_of(state, Component::Moto),
            registry_url: url_of(state, Component::Registry),
            gateway_url: url_of(state, Component::Gateway),
            region,
            account: None,
        })
    }
}

/// The region deploy.toml names (moto answers for any).
fn region() -> String {
    Config::load()
        .map(|c| c.project.region)
        .unwrap_or_else(|_| "us-east-1".into())
}

fn url_of(state: &State, component: Component) -> String {
    state
        .components
        .get(component.name())
        .map(|s| Component::url(s.port))
        .unwrap_or_default()
}
