//! [`SimCloud`]: one actor's handle on the world, implementing every trait the pipeline is
//! generic over (`Functions`, `Apis`, `Account`, the image `Registry`, the prober's `Http`).
//! Each call waits a drawn latency on virtual time, then meets its fault (if one is drawn) and
//! is applied atomically under the world's lock, after which the oracle checks the world.
use std::{
    convert::Infallible,
    fmt::Debug,
    future::Future,
    hash::Hash,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use anyhow::{Result, anyhow};
use rand::Rng;
use tokio::sync::Notify;

use super::{
    actor::Role,
    app,
    fault::Fault,
    world::{self, World},
};
use bgd_core::{
    cloud::{CloudError, CloudResult, ErrorKind, Operation, RegistryAccess},
    probe::{Answer, Http, Request},
};

mod locks;
use locks::take_over;
pub(super) use locks::{dead_runs_expired_lock, expire_lock, foreign_lock};

/// How long a timed-out call kept its caller waiting (the SDK's attempt timeout).
const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub(crate) struct SimCloud {
    pub(super) world: Arc<Mutex<World>>,
    pub(super) actor: usize,
    pub(super) role: Role,
    /// Told when this actor's process dies: its run ends there, no cleanup runs.
    pub(super) crashed: Arc<Notify>,
}

/// How a call ends for its caller.
enum Step<R> {
    /// The process died (before or after AWS applied the call).
    Crash,
    Answer(R),
    /// The answer after the SDK's timeout.
    Late(R),
}

/// What a call is, for the fault draw and the trace.
pub(super) struct Call<T> {
    pub name: String,
    pub write: bool,
    pub lambda_write: bool,
    /// A successful answer in the trace.
    pub shown: fn(&T) -> String,
}

fn ok<T>(_: &T) -> String {
    "ok".into()
}

impl SimCloud {
    pub(super) fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The process is gone: this call, and the run, never return.
    async fn die(&self) -> Infallible {
        self.crashed.notify_one();
        std::future::pending().await
    }

    /// One call through latency, fault and the world's lock. `refused` turns a fault into the
    /// error the caller sees; `apply` is AWS doing the work.
    pub(super) async fn call<T: Debug, E: Debug>(
        &self,
        call: Call<T>,
        refused: impl Fn(&str) -> E,
        apply: impl FnOnce(&mut World, usize) -> Result<T, E>,
    ) -> Result<T, E> {
        let drawn = {
            let mut w = self.world();
            (!w.dead.contains(&self.actor)).then(|| {
                let latency = Duration::from_millis(w.rng.random_range(1..80));
                let kind = (call.write, call.lambda_write);
                (latency, w.fault(self.actor, &call.name, kind))
            })
        };
        let Some((latency, fault)) = drawn else {
            match self.die().await {}
        };
        tokio::time::sleep(latency).await;
        match self.step(&call, fault, refused, apply) {
            Step::Crash => match self.die().await {},
            Step::Answer(result) => result,
            Step::Late(result) => {
                tokio::time::sleep(TIMEOUT).await;
                result
            }
        }
    }

    /// The call arrives: its fault, then AWS's work, then the oracle's look, all atomic.
    fn step<T: Debug, E: Debug>(
        &self,
        call: &Call<T>,
        fault: Option<Fault>,
        refused: impl Fn(&str) -> E,
        apply: impl FnOnce(&mut World, usize) -> Result<T, E>,
    ) -> Step<Result<T, E>> {
        let mut w = self.world();
        let known = w.oracle.violations.len();
        w.users_until_now();
        w.steps += 1;
        // The takeover landed before this call arrives.
        if let Some(Fault::TakenOver { by }) = fault {
            take_over(&mut w, by);
        }
        w.oracle.calls(self.actor);
        (self.actor, &call.name).hash(&mut w.schedule);
        if call.write && self.role.read_only() {
            w.oracle.read_only_wrote(self.actor, &self.role, &call.name);
        }
        if call.write {
            w.oracle.writes(self.actor, &call.name);
        }
        if let Some(fault) = fault {
            w.faults.add(fault);
            w.note(|| format!("a{} {} !! {}", self.actor, call.name, fault.kind()));
        }
        match fault {
            Some(Fault::CrashBefore) => {
                w.dead.insert(self.actor);
                return Step::Crash;
            }
            Some(Fault::Throttle) => {
                return Step::Answer(Err(refused("TooManyRequestsException: Rate exceeded")));
            }
            Some(Fault::Conflict) => {
                return Step::Answer(Err(refused(
                    "ResourceConflictException: The operation cannot be performed at this time. An update is in progress",
                )));
            }
            Some(Fault::Timeout { applied: false }) => {
                return Step::Late(Err(refused("dispatch failure: timeout")));
            }
            Some(Fault::LockExpiry) => expire_lock(&mut w),
            Some(Fault::ForeignLock) => foreign_lock(&mut w),
            _ => {}
        }
        let result = apply(&mut w, self.actor);
        w.note(|| {
            let outcome = match &result {
                Ok(answer) => (call.shown)(answer),
                Err(e) => format!("{e:?}").chars().take(120).collect(),
            };
            format!("a{} {} -> {outcome}", self.actor, call.name)
        });
        // Only a write changes what green routes to or the images it runs.
        if call.write {
            check(&mut w);
        }
        for found in known..w.oracle.violations.len() {
            let line = format!("VIOLATION {}", w.oracle.violations[found]);
            w.note(|| line);
        }
        match fault {
            Some(Fault::CrashAfter) => {
                w.dead.insert(self.actor);
                Step::Crash
            }
            Some(Fault::Timeout { applied: true }) => {
                Step::Late(Err(refused("dispatch failure: timeout")))
            }
            Some(Fault::Stall) => Step::Late(result),
            _ => Step::Answer(result),
        }
    }

    /// A cloud operation: its errors are `CloudError`s naming it.
    pub(super) fn cloud<T: Debug + Send>(
        &self,
        operation: Operation,
        subject: &str,
        apply: impl FnOnce(&mut World, usize) -> CloudResult<T> + Send,
    ) -> impl Future<Output = CloudResult<T>> + Send {
        let lambda_write = matches!(
            operation,
            Operation::UpdateFunctionCode
                | Operation::UpdateFunctionConfiguration
                | Operation::PublishVersion
        );
        let call = Call {
            name: format!("{operation:?} {subject}"),
            write: operation.is_write(),
            lambda_write,
            shown: ok,
        };
        let subject = subject.to_owned();
        // What AWS answers a call signed with session credentials past their expiry; a run
        // must have ended before (its deadline is 2 minutes earlier).
        let signed = subject.clone();
        let apply = move |w: &mut World, actor: usize| {
            if w.credentials
                .get(&actor)
                .is_some_and(|at| w.epoch_s() >= *at)
            {
                let role = &self.role;
                w.oracle.fail(format!(
                    "actor {actor} ({role}) called {operation:?} after its credentials expired: its run outlived its deadline"
                ));
                return Err(CloudError::new(
                    ErrorKind::Other,
                    operation,
                    &signed,
                    "ExpiredTokenException: The security token included in the request is expired"
                        .into(),
                ));
            }
            apply(w, actor)
        };
        async move {
            self.call(
                call,
                |why| {
                    let kind = if why.starts_with("ResourceConflict") {
                        ErrorKind::Conflict
                    } else {
                        ErrorKind::Other
                    };
                    CloudError::new(kind, operation, &subject, why.into())
                },
                apply,
            )
            .await
        }
    }

    /// A registry call: its errors are anyhow's, as the OCI client's.
    pub(super) async fn registry<T: Debug>(
        &self,
        name: String,
        write: bool,
        apply: impl FnOnce(&mut World, usize) -> Result<T, String>,
    ) -> Result<T> {
        let call = Call {
            name,
            write,
            lambda_write: false,
            shown: ok,
        };
        self.call(call, str::to_owned, apply)
            .await
            .map_err(|e| anyhow!("registry: {e}"))
    }
}

/// The oracle's look at the world after a call: what green serves, every version it routes to.
fn check(w: &mut World) {
    for version in w.routes_of(bgd_core::pipeline::GREEN) {
        let digest = w.image_of(&version);
        w.oracle.green_serves(&version, digest.as_deref());
        if let Some(digest) = digest.filter(|d| !w.images.manifests.contains(d)) {
            w.oracle.fail(format!(
                "green serves version {version}, whose image {} is gone from the repository",
                &digest[..digest.len().min(19)]
            ));
        }
    }
}

impl Http for SimCloud {
    async fn send(&self, request: Request) -> Result<Answer, String> {
        let path = request
            .url
            .rsplit_once("_user_request_")
            .map_or(request.url.as_str(), |(_, p)| p);
        let call = Call {
            name: format!("{} {path}", request.method),
            write: false,
            lambda_write: false,
            shown: |answer: &Answer| match &answer.app_version {
                Some(version) => format!("{} from version {version}", answer.status),
                None => answer.status.to_string(),
            },
        };
        self.call(
            call,
            |why| format!("connection reset ({why})"),
            |w, _| app::answer(w, &request),
        )
        .await
    }
}

impl bgd_core::pipeline::Cloud for SimCloud {
    type Registry = SimCloud;
    type Http = SimCloud;

    fn registry_client(&self, access: RegistryAccess) -> Result<SimCloud> {
        anyhow::ensure!(
            access.host == world::REGISTRY_HOST,
            "no registry at {}",
            access.host
        );
        Ok(self.clone())
    }
}
