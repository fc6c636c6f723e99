//! A Lambda Runtime API for one function instance: runs a `bootstrap` binary as a process and
//! hands it one invocation at a time, as Lambda does
//! (<https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>).
//!
//! Each instance gets its own loopback listener, so `/invocation/next` always belongs to the
//! process that asks. The gateway keeps warm instances and starts more under concurrency.
use std::{
    collections::HashMap,
    path::PathBuf,
    process::{ExitStatus, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, Result};
use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use tokio::{
    net::TcpListener,
    process::{Child, Command},
    sync::{mpsc, oneshot},
};

/// What to run and how Lambda would configure it.
#[derive(Debug, Clone)]
pub struct Spec {
    pub binary: PathBuf,
    pub function_name: String,
    /// "7" or "$LATEST": becomes `AWS_LAMBDA_FUNCTION_VERSION`.
    pub version: String,
    /// The ARN the caller invoked, qualified by the alias when invoked through one.
    pub invoked_function_arn: String,
    /// The version's own Environment.
    pub environment: Vec<(String, String)>,
    pub memory_mb: u32,
    pub timeout: Duration,
    /// Where the function's stdout and stderr go (appended), like its CloudWatch log group;
    /// discarded when `None`.
    pub log_file: Option<PathBuf>,
}

/// How one invocation ended.
#[derive(Debug)]
pub enum Outcome {
    /// The function posted a response (for lambda_http: the proxy response JSON).
    Response(Bytes),
    /// The function posted an invocation or init error; the instance may serve again.
    FunctionError(Bytes),
    /// No answer within the function's timeout; the instance was killed.
    Timeout,
    /// The process exited; the instance is gone.
    Crashed(Option<ExitStatus>),
}

impl Outcome {
    /// Whether the instance can take another invocation after this one.
    pub fn keeps_instance(&self) -> bool {
        matches!(self, Outcome::Response(_) | Outcome::FunctionError(_))
    }
}

struct Invocation {
    payload: Bytes,
    reply: oneshot::Sender<Outcome>,
}

struct Api {
    spec: Spec,
    next: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    in_flight: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_error: Mutex<Option<Bytes>>,
}

/// One running `bootstrap` process and the Runtime API it polls.
pub struct Instance {
    child: Child,
    queue: mpsc::Sender<Invocation>,
    api: Arc<Api>,
    server: tokio::task::JoinHandle<()>,
    pub started: Instant,
}

impl Instance {
    /// Starts the Runtime API on a free loopback port and spawns the binary against it.
    pub async fn start(spec: Spec) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the runtime API to loopback")?;
        let addr = listener.local_addr()?;
        let (queue, next) = mpsc::channel(1);
        let api = Arc::new(Api {
            spec: spec.clone(),
            next: tokio::sync::Mutex::new(next),
            in_flight: Mutex::default(),
            init_error: Mutex::default(),
        });
        let router = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(api.clone());
        let server = tokio::spawn(async move {
            // Ends when the listener fails, i.e. never while the instance lives.
            let _ = axum::serve(listener, router).await;
        });

        let (stdout, stderr) = match &spec.log_file {
            Some(path) => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("opening the function log {}", path.display()))?;
                (Stdio::from(file.try_clone()?), Stdio::from(file))
            }
            None => (Stdio::null(), Stdio::null()),
        };
        let started = Instant::now();
        let child = Command::new(&spec.binary)
            .env_clear()
            .envs(spec.environment.iter().map(|(k, v)| (k, v)))
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &spec.function_name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", &spec.version)
            .env(
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                spec.memory_mb.to_string(),
            )
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", spec.function_name),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .env("AWS_REGION", "us-east-1")
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", spec.binary.display()))?;
        Ok(Self {
            child,
            queue,
            api,
            server,
            started,
        })
    }

    /// Sends one event and waits for its outcome, at most the function's timeout.
    pub async fn invoke(&mut self, payload: Bytes) -> Outcome {
        let (reply, outcome) = oneshot::channel();
        if self
            .queue
            .send(Invocation { payload, reply })
            .await
            .is_err()
        {
            return Outcome::Crashed(self.child.try_wait().ok().flatten());
        }
        let timeout = self.api.spec.timeout;
        let outcome = tokio::select! {
            outcome = outcome => outcome.unwrap_or(Outcome::Crashed(None)),
            status = self.child.wait() => {
                let init_error = self.api.init_error.lock().expect("lock").take();
                match init_error {
                    Some(body) => Outcome::FunctionError(body),
                    None => Outcome::Crashed(status.ok()),
                }
            }
            () = tokio::time::sleep(timeout) => Outcome::Timeout,
        };
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

async fn next_invocation(State(api): State<Arc<Api>>) -> Response {
    let Some(invocation) = api.next.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let request_id = new_request_id();
    let deadline = SystemTime::now() + api.spec.timeout;
    let deadline_ms = deadline
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    api.in_flight
        .lock()
        .expect("lock")
        .insert(request_id.clone(), invocation.reply);
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("lambda-runtime-aws-request-id", request_id.as_str()),
        ("lambda-runtime-deadline-ms", &deadline_ms.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            &api.spec.invoked_function_arn,
        ),
        (
            "lambda-runtime-trace-id",
            "Root=1-00000000-000000000000000000000000;Sampled=0",
        ),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    (StatusCode::OK, headers, invocation.payload).into_response()
}

async fn response(State(api): State<Arc<Api>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    settle(&api, &id, Outcome::Response(body))
}

async fn error(State(api): State<Arc<Api>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    settle(&api, &id, Outcome::FunctionError(body))
}

async fn init_error(State(api): State<Arc<Api>>, body: Bytes) -> StatusCode {
    *api.init_error.lock().expect("lock") = Some(body);
    StatusCode::ACCEPTED
}

fn settle(api: &Api, id: &str, outcome: Outcome) -> StatusCode {
    match api.in_flight.lock().expect("lock").remove(id) {
        Some(reply) => {
            let _ = reply.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::NOT_FOUND,
    }
}

/// A random UUID, as Lambda and API Gateway use for request ids.
pub(crate) fn new_request_id() -> String {
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
