//! Warm instances per version: one invocation per instance at a time, a new instance when all
//! are busy (up to a bound), idle ones reaped, a crashed one dropped (the next request starts a
//! fresh one), as Lambda's execution environments behave.
use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use anyhow::Result;
use axum::body::Bytes;
use tokio::sync::Semaphore;

use crate::runtime::{INIT_LIMIT, Init, Instance, Outcome, Spec};

/// Invocations in flight across all functions; more wait. Enough for a laptop's benchmarks.
const MAX_IN_FLIGHT: usize = 64;
/// Lambda keeps idle environments for minutes; this keeps a laptop's process list short.
pub(crate) const IDLE_TTL: Duration = Duration::from_secs(120);

pub(crate) struct Pool {
    idle: Mutex<HashMap<String, Vec<(Instance, Instant)>>>,
    in_flight: Semaphore,
}

impl Pool {
    pub(crate) fn new() -> Self {
        Self {
            idle: Mutex::default(),
            in_flight: Semaphore::new(MAX_IN_FLIGHT),
        }
    }

    /// Runs one invocation on a warm instance of `key`, or on a new one started from `spec()`.
    pub(crate) async fn invoke(
        &self,
        key: &str,
        spec: impl FnOnce() -> Spec,
        payload: Bytes,
    ) -> Result<Outcome> {
        let _permit = self.in_flight.acquire().await?;
        let warm = self
            .idle
            .lock()
            .expect("lock")
            .get_mut(key)
            .and_then(Vec::pop);
        let mut instance = match warm {
            Some((instance, _)) => instance,
            None => start(spec()).await?,
        };
        let outcome = instance.invoke(payload).await;
        if outcome.keeps_instance() {
            self.idle
                .lock()
                .expect("lock")
                .entry(key.to_owned())
                .or_default()
                .push((instance, Instant::now()));
        }
        Ok(outcome)
    }

    /// Drops (kills) instances idle for longer than `ttl`.
    pub(crate) fn reap(&self, ttl: Duration) {
        let mut idle = self.idle.lock().expect("lock");
        for instances in idle.values_mut() {
            instances.retain(|(_, since)| since.elapsed() < ttl);
        }
        idle.retain(|_, instances| !instances.is_empty());
    }

    /// Pids of the idle instances, for `status` and for tests that crash one.
    pub(crate) fn pids(&self) -> Vec<u32> {
        let idle = self.idle.lock().expect("lock");
        idle.values()
            .flatten()
            .filter_map(|(instance, _)| instance.pid())
            .collect()
    }
}

/// A new instance through its Init phase. Past Lambda's 10 s limit the instance is started
/// again, and that second Init runs within the first invocation's timeout, as Lambda does.
async fn start(spec: Spec) -> Result<Instance> {
    let mut instance = Instance::start(spec.clone()).await?;
    eprintln!(
        "gateway: started an instance of {}:{} (pid {})",
        spec.function_name,
        spec.version,
        instance.pid().unwrap_or_default()
    );
    if instance.init(INIT_LIMIT).await == Init::TimedOut {
        eprintln!(
            "gateway: {}:{} did not finish its Init phase within {} s: starting it again within the invocation",
            spec.function_name,
            spec.version,
            INIT_LIMIT.as_secs()
        );
        instance = Instance::start(spec).await?;
    }
    Ok(instance)
}
