//! A Lambda Runtime API for one function instance: runs an image's command in Lambda's sandbox
//! and hands it one invocation at a time, as Lambda does
//! (<https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>), within Lambda's limits:
//! the 10 s init phase, the function's timeout and memory, the 6 MB response.
//!
//! Each instance gets its own loopback listener, so `/invocation/next` always belongs to the
//! process that asks. The gateway keeps warm instances and starts more under concurrency.
mod api;
mod exec;

use std::{
    io::Write,
    os::unix::process::ExitStatusExt,
    path::{Path, PathBuf},
    process::{ExitStatus, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use axum::body::Bytes;
use tokio::{
    net::TcpListener,
    process::{Child, Command},
    sync::{Notify, mpsc, oneshot},
};

use self::{
    api::{Api, Invocation},
    exec::{environment, epoch_seconds, invalid_entrypoint},
};
pub use crate::control::Unpacked;
use crate::{
    architecture::{Architecture, EMULATOR_PACKAGE},
    sandbox::{Cgroup, Network, Sandbox},
};

/// Lambda's limit on the Init phase; past it, Lambda starts the instance again within the
/// first invocation, under the function's timeout
/// (<https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html>).
pub const INIT_LIMIT: Duration = Duration::from_secs(10);
/// Lambda's synchronous response limit, 6 MB
/// (<https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html>).
pub const MAX_RESPONSE: usize = 6 * 1024 * 1024;

/// Where an instance runs.
#[derive(Debug, Clone)]
pub enum Isolation {
    /// In Lambda's sandbox (see [`crate::sandbox`]).
    Sandbox(Arc<Sandbox>),
    /// As a host process (`--unsandboxed`): the image's command from its rootfs, with the
    /// host's filesystem, user and memory around it.
    Host,
}

/// What to run and how Lambda would configure it.
#[derive(Debug, Clone)]
pub struct Spec {
    pub image: Arc<Unpacked>,
    pub isolation: Isolation,
    pub function_name: String,
    /// "7" or "$LATEST": becomes `AWS_LAMBDA_FUNCTION_VERSION`.
    pub version: String,
    /// The ARN the caller invoked, qualified by the alias when invoked through one.
    pub invoked_function_arn: String,
    pub region: String,
    /// The version's own Environment.
    pub environment: Vec<(String, String)>,
    pub memory_mb: u32,
    pub timeout: Duration,
    /// The function's `Architectures`: the machine Lambda would run it on.
    pub architecture: Architecture,
    /// Where the function's stdout and stderr go (appended), like its CloudWatch log group;
    /// discarded when `None`.
    pub log_file: Option<PathBuf>,
}

impl Unpacked {
    /// A root filesystem at `dir` holding only `binary` as `/bootstrap`, run as such: what a
    /// `FROM scratch` image of a static bootstrap unpacks to (for tests and the bench).
    pub fn with_bootstrap(binary: &Path, dir: &Path) -> Result<Self> {
        use std::os::unix::fs::PermissionsExt;
        for sub in ["tmp", "proc", "dev"] {
            std::fs::create_dir_all(dir.join(sub))
                .with_context(|| format!("creating {}", dir.display()))?;
        }
        let bootstrap = dir.join("bootstrap");
        std::fs::copy(binary, &bootstrap)
            .with_context(|| format!("copying {}", binary.display()))?;
        std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755))?;
        Ok(Self {
            rootfs: dir.to_owned(),
            command: vec!["/bootstrap".into()],
            workdir: "/".into(),
            env: Vec::new(),
        })
    }
}

/// How one invocation ended.
#[derive(Debug)]
pub enum Outcome {
    /// The function posted a response (for lambda_http: the proxy response JSON).
    Response(Bytes),
    /// The function posted an invocation or init error, or Lambda refused its response (over
    /// 6 MB): Lambda's error document. The instance may serve again.
    FunctionError(Bytes),
    /// No answer within the function's timeout; the instance was killed.
    Timeout,
    /// The process exited (out of memory: killed); the instance is gone. Lambda's reason, as
    /// in `Runtime exited with error: signal: killed`.
    Crashed(String),
}

impl Outcome {
    /// Whether the instance can take another invocation after this one.
    pub fn keeps_instance(&self) -> bool {
        matches!(self, Outcome::Response(_) | Outcome::FunctionError(_))
    }
}

/// How the Init phase of a new instance ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Init {
    /// The runtime asked for its first invocation.
    Ready,
    /// The process exited first (its first invocation reports why).
    Exited,
    /// Not within the limit; the instance was killed.
    TimedOut,
}

/// One running instance and the Runtime API it polls.
pub struct Instance {
    child: Child,
    queue: mpsc::Sender<Invocation>,
    api: Arc<Api>,
    server: tokio::task::JoinHandle<()>,
    /// Removed (after the process) when the instance is dropped.
    _cgroup: Option<Cgroup>,
    pub started: Instant,
}

impl Instance {
    /// Starts the Runtime API on a free loopback port and the image's command against it.
    pub async fn start(spec: Spec) -> Result<Self> {
        let network = match &spec.isolation {
            Isolation::Sandbox(sandbox) => sandbox.network()?,
            Isolation::Host => None,
        };
        let listener = match &network {
            Some(network) => {
                let listener = network.listener.try_clone()?;
                listener.set_nonblocking(true)?;
                TcpListener::from_std(listener)?
            }
            None => TcpListener::bind("127.0.0.1:0")
                .await
                .context("binding the runtime API to loopback")?,
        };
        let addr = listener.local_addr()?;
        let (queue, next) = mpsc::channel(1);
        let api = Arc::new(Api {
            spec: spec.clone(),
            next: tokio::sync::Mutex::new(next),
            in_flight: Mutex::default(),
            init_error: Mutex::default(),
            asked: Notify::new(),
        });
        let router = api::router(api.clone());
        let server = tokio::spawn(async move {
            // Ends when the listener fails, i.e. never while the instance lives.
            let _ = axum::serve(listener, router).await;
        });

        let (stdout, stderr) = log_streams(&spec)?;
        let (mut command, cgroup) = process(&spec, network.as_ref())?;
        let started = Instant::now();
        let child = command
            .env_clear()
            .envs(environment(&spec, &addr.to_string()))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {:?}", spec.image.command))?;
        Ok(Self {
            child,
            queue,
            api,
            server,
            _cgroup: cgroup,
            started,
        })
    }

    /// Waits for the Init phase to end, at most `limit`; kills the instance past it.
    pub async fn init(&mut self, limit: Duration) -> Init {
        let init = tokio::select! {
            () = self.api.asked.notified() => Init::Ready,
            _ = self.child.wait() => Init::Exited,
            () = tokio::time::sleep(limit) => Init::TimedOut,
        };
        if init == Init::TimedOut {
            let _ = self.child.start_kill();
            let ms = limit.as_secs_f64() * 1e3;
            platform_log(
                &self.api.spec,
                &format!("INIT_REPORT Init Duration: {ms:.2} ms Phase: init Status: timeout"),
            );
        }
        init
    }

    /// Sends one event and waits for its outcome, at most the function's timeout.
    pub async fn invoke(&mut self, payload: Bytes) -> Outcome {
        let request_id = random_uuid();
        let (reply, outcome) = oneshot::channel();
        let invocation = Invocation {
            request_id: request_id.clone(),
            payload,
            reply,
        };
        let spec = &self.api.spec;
        // A process that already exited (killed while idle) takes no event: the runtime in its
        // sandbox can outlive it by a moment and still answer one (a killed instance then
        // answered 200 now and then on a loaded machine, where Lambda answers 502).
        let exited = self.child.try_wait().ok().flatten();
        let outcome = if exited.is_some() || self.queue.send(invocation).await.is_err() {
            let status = exited.or_else(|| self.child.try_wait().ok().flatten());
            Outcome::Crashed(exit_reason(spec, status))
        } else {
            tokio::select! {
                outcome = outcome => outcome.unwrap_or(Outcome::Crashed(exit_reason(spec, None))),
                status = self.child.wait() => {
                    let init_error = self.api.init_error.lock().expect("lock").take();
                    match init_error {
                        Some(body) => Outcome::FunctionError(body),
                        None => Outcome::Crashed(exit_reason(spec, status.ok())),
                    }
                }
                () = tokio::time::sleep(spec.timeout) => Outcome::Timeout,
            }
        };
        // Lambda's own lines in the function's log group.
        match &outcome {
            Outcome::Timeout => {
                platform_log(spec, &format!("{request_id} {}", timed_out(spec.timeout)))
            }
            Outcome::Crashed(reason) => platform_log(
                spec,
                &format!(
                    "RequestId: {request_id} Error: Runtime exited with error: {reason}\nRuntime.ExitError"
                ),
            ),
            _ => {}
        }
        if !outcome.keeps_instance() {
            let _ = self.child.start_kill();
        }
        outcome
    }

    /// The process id, for logs and for tests that kill an instance from outside.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
        self.server.abort();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Lambda's message for an invocation that ran out of time.
pub fn timed_out(timeout: Duration) -> String {
    format!("Task timed out after {:.2} seconds", timeout.as_secs_f64())
}

/// Appends one of Lambda's platform lines to the function's log.
fn platform_log(spec: &Spec, line: &str) {
    if let Some(path) = &spec.log_file
        && let Ok(mut file) = std::fs::OpenOptions::new().append(true).open(path)
    {
        let _ = writeln!(
            file,
            "{} {line}",
            bgd_rules::clock::rfc3339(epoch_seconds())
        );
    }
}

/// Why the instance's process ended, worded as Lambda's runtime reports it (Go's
/// `ProcessState`): `signal: killed` for an instance the OOM killer ended.
fn exit_reason(spec: &Spec, status: Option<ExitStatus>) -> String {
    let Some(status) = status else {
        return "Runtime exited without providing a reason".into();
    };
    // bwrap reports a command killed by signal N as exit status 128 + N.
    let signal = status.signal().or(match spec.isolation {
        Isolation::Sandbox(_) => status.code().filter(|c| *c > 128).map(|c| c - 128),
        Isolation::Host => None,
    });
    match signal {
        Some(libc::SIGKILL) => "signal: killed".into(),
        Some(libc::SIGABRT) => "signal: aborted".into(),
        Some(libc::SIGSEGV) => "signal: segmentation fault".into(),
        Some(libc::SIGTERM) => "signal: terminated".into(),
        Some(other) => format!("signal: {other}"),
        None => format!("exit status {}", status.code().unwrap_or(-1)),
    }
}

/// A random UUID, as Lambda and API Gateway use for request ids (and Lambda for RevisionIds).
pub fn random_uuid() -> String {
    let bytes: [u8; 16] = rand::random();
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Where the instance's stdout and stderr go: the function's log, or nowhere.
fn log_streams(spec: &Spec) -> Result<(Stdio, Stdio)> {
    Ok(match &spec.log_file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening the function log {}", path.display()))?;
            (Stdio::from(file.try_clone()?), Stdio::from(file))
        }
        None => (Stdio::null(), Stdio::null()),
    })
}

/// The image's command as Lambda starts it: in the sandbox (or on the host), under the
/// emulator of the function's architecture when it is not the host's.
fn process(spec: &Spec, network: Option<&Network>) -> Result<(Command, Option<Cgroup>)> {
    let image = &spec.image;
    let emulator = spec.architecture.emulated_by();
    if let Some(emulator) = emulator.filter(|e| !e.exists()) {
        anyhow::bail!(
            "{} is missing, which runs {} functions on this {} machine: install the Debian package {EMULATOR_PACKAGE}",
            emulator.display(),
            spec.architecture.as_str(),
            std::env::consts::ARCH
        );
    }
    Ok(match &spec.isolation {
        Isolation::Sandbox(sandbox) => {
            if let Some(why) = invalid_entrypoint(image, spec.architecture) {
                platform_log(
                    spec,
                    &format!(
                        "INIT_REPORT Status: error Error Type: Runtime.InvalidEntrypoint {why}"
                    ),
                );
                anyhow::bail!("Runtime.InvalidEntrypoint: {why}");
            }
            sandbox.command(image, spec.memory_mb, network, emulator)?
        }
        Isolation::Host => {
            let program = image.rootfs.join(image.command[0].trim_start_matches('/'));
            let mut command = match emulator {
                Some(emulator) => {
                    let mut command = Command::new(emulator);
                    command.arg(program);
                    command
                }
                None => Command::new(program),
            };
            command
                .args(&image.command[1..])
                .current_dir(image.rootfs.join(image.workdir.trim_start_matches('/')));
            (command, None)
        }
    })
}
