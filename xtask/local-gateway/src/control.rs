//! The control-plane reads a request needs (API, stage and its routes, alias, version, image),
//! supplied by the caller through a [`ControlPlane`] per account and region (each answers for
//! its own account and region alone, as AWS keeps them apart), and cached here for at most
//! [`TTL`] so a request does not cost several control-plane calls, while an alias moved in the
//! control plane still takes effect within that time (AWS alias moves take a moment to
//! propagate too).
//! An entry in use is refreshed in the background once half its life is gone, so under load
//! no request waits for the control plane, and concurrent requests do not all ask at once when
//! it expires.
use std::{
    collections::{BTreeMap, HashMap},
    fmt,
    hash::Hash,
    path::PathBuf,
    pin::Pin,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::architecture::Architecture;

pub(crate) const TTL: Duration = Duration::from_secs(1);
const REFRESH_AFTER: Duration = Duration::from_millis(500);

/// A failed read: whether the thing is missing (API Gateway answers 403 for a missing stage or
/// route) and what to log.
#[derive(Debug, Clone)]
pub struct ReadError {
    pub not_found: bool,
    pub message: String,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

pub type Read<T> = Pin<Box<dyn Future<Output = Result<T, ReadError>> + Send>>;

/// An account and a region: whose control plane a read goes to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    pub account: String,
    pub region: String,
}

/// The control plane of one account in one region, connected when first needed.
pub type Connect = Box<dyn Fn(Scope) -> Read<Arc<dyn ControlPlane>> + Send + Sync>;

/// The reads the gateway makes in one account and region, answered by whoever owns the control
/// plane (xtask, through its cloud module). A trait object, so nothing generic over the SDK is
/// compiled into this crate.
pub trait ControlPlane: Send + Sync + 'static {
    /// The id of the REST API named `name`.
    fn api_id(&self, name: String) -> Read<String>;
    /// A stage, with the Lambda function each route's integration invokes on it.
    fn stage(&self, api_id: String, stage: String) -> Read<Stage>;
    /// Whether API Gateway serves the stage yet: a stage just created, or whose variables just
    /// changed, propagates first (not found meanwhile).
    fn stage_served(&self, api_id: String, stage: String) -> Read<()>;
    fn alias(&self, function: String, alias: String) -> Read<AliasTarget>;
    fn version(&self, function: String, version: String) -> Read<Version>;
    /// Whether Lambda runs this published version now: a Pending one refuses, an Inactive one
    /// fails its invocation (and starts warming up), as AWS documents.
    fn invocable(&self, function: String, version: String) -> Read<()>;
    /// An image's root filesystem and run config (pulled and unpacked on first use).
    fn unpacked(&self, image: Image) -> Read<Unpacked>;
    /// Where a function's stdout and stderr go (appended), like its CloudWatch log group.
    fn function_log(&self, function: &str) -> PathBuf;
}

#[derive(Debug, Clone)]
pub struct Stage {
    pub name: String,
    pub variables: BTreeMap<String, String>,
    pub routes: Vec<Route>,
}

/// One resource of the API and what each of its methods invokes.
#[derive(Debug, Clone)]
pub struct Route {
    /// `/`, `/{proxy+}`, `/items/{id}`.
    pub path: String,
    /// Method (`ANY`, `GET`, ...) → the qualified function ARN its integration invokes on this
    /// stage; `Err` says why there is none (not a Lambda proxy, a stage variable unset).
    pub methods: BTreeMap<String, Result<String, String>>,
}

/// Where an alias sends invocations: a version, plus extra versions with weights.
#[derive(Debug, Clone)]
pub struct AliasTarget {
    pub version: String,
    /// Version → share of traffic in 0.0..=1.0; the rest goes to `version`.
    pub additional_weights: BTreeMap<String, f64>,
}

impl AliasTarget {
    /// Picks the version for one invocation; `roll` is uniform in 0.0..1.0.
    pub fn pick(&self, roll: f64) -> &str {
        let mut edge = 0.0;
        for (version, weight) in &self.additional_weights {
            edge += weight;
            if roll < edge {
                return version;
            }
        }
        &self.version
    }
}

/// One version of a function (or `$LATEST`) and how Lambda would run it.
#[derive(Debug, Clone)]
pub struct Version {
    pub function_name: String,
    /// "7" or "$LATEST".
    pub version: String,
    pub code_sha256: String,
    /// `None` when no image in the registry matches the version.
    pub image: Option<Image>,
    pub environment: BTreeMap<String, String>,
    pub memory_mb: u32,
    pub timeout: Duration,
    /// The machine Lambda runs it on.
    pub architecture: Architecture,
}

/// An image by digest: `HOST/REPO@sha256:HEX`, the ImageUri Lambda is told.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Image(pub String);

/// An image unpacked on disk: all its layers applied in order, and what its config says to run.
#[derive(Debug, Clone)]
pub struct Unpacked {
    /// The root filesystem, `/` of every instance of the image.
    pub rootfs: PathBuf,
    /// The config's `Entrypoint` followed by its `Cmd`.
    pub command: Vec<String>,
    /// The config's `WorkingDir` (`/` when unset).
    pub workdir: String,
    /// The config's `Env`, in order.
    pub env: Vec<(String, String)>,
}

/// Answers (errors too, so a missing stage is not asked again per request) younger than TTL.
struct Cache<K, V> {
    entries: Mutex<HashMap<K, Entry<V>>>,
}

struct Entry<V> {
    fetched: Instant,
    value: V,
    refreshing: bool,
}

type Shared<T> = Arc<Result<T, ReadError>>;

impl<K, T> Cache<K, Shared<T>>
where
    K: Eq + Hash + Clone + Send + 'static,
    T: Send + Sync + 'static,
{
    fn new() -> Arc<Self> {
        Arc::new(Self {
            entries: Mutex::new(HashMap::new()),
        })
    }

    /// The cached answer for `key`, or what `read` answers; `read` runs at most once, in the
    /// background when the cached answer is still fresh enough to serve.
    async fn get_or(self: &Arc<Self>, key: K, read: impl FnOnce(K) -> Read<T>) -> Shared<T> {
        if let Some(entry) = self.entries.lock().expect("lock").get_mut(&key) {
            let age = entry.fetched.elapsed();
            if age < TTL {
                if age >= REFRESH_AFTER && !entry.refreshing {
                    entry.refreshing = true;
                    let (cache, fresh) = (self.clone(), read(key.clone()));
                    tokio::spawn(async move { cache.put(key, Arc::new(fresh.await)) });
                }
                return entry.value.clone();
            }
        }
        let value = Arc::new(read(key.clone()).await);
        self.put(key, value.clone());
        value
    }

    fn forget(&self, key: &K) {
        self.entries.lock().expect("lock").remove(key);
    }

    fn put(&self, key: K, value: Shared<T>) {
        let entry = Entry {
            fetched: Instant::now(),
            value,
            refreshing: false,
        };
        self.entries.lock().expect("lock").insert(key, entry);
    }
}

/// The cached answer, or its error for a request's 502.
pub(crate) fn answer<T>(shared: &Shared<T>) -> anyhow::Result<&T> {
    shared.as_ref().as_ref().map_err(|e| anyhow::anyhow!("{e}"))
}

/// Each account's and region's reads, connected once.
pub(crate) struct Controls {
    connect: Connect,
    scopes: tokio::sync::Mutex<HashMap<Scope, Arc<Control>>>,
}

impl Controls {
    pub(crate) fn new(connect: Connect) -> Self {
        Self {
            connect,
            scopes: tokio::sync::Mutex::default(),
        }
    }

    /// The reads of `scope` (connected on first use; a failed connection is tried again).
    pub(crate) async fn of(&self, scope: &Scope) -> Result<Arc<Control>, ReadError> {
        let mut scopes = self.scopes.lock().await;
        if let Some(control) = scopes.get(scope) {
            return Ok(control.clone());
        }
        let control = Arc::new(Control::new((self.connect)(scope.clone()).await?));
        scopes.insert(scope.clone(), control.clone());
        Ok(control)
    }
}

/// The reads of one account and region, cached.
pub(crate) struct Control {
    plane: Arc<dyn ControlPlane>,
    apis: Arc<Cache<String, Shared<String>>>,
    stages: Arc<Cache<(String, String), Shared<Stage>>>,
    served: Arc<Cache<(String, String), Shared<()>>>,
    aliases: Arc<Cache<(String, String), Shared<AliasTarget>>>,
    versions: Arc<Cache<(String, String), Shared<Version>>>,
    invocable: Arc<Cache<(String, String), Shared<()>>>,
    images: Arc<Cache<Image, Shared<Unpacked>>>,
}

impl Control {
    pub(crate) fn new(plane: Arc<dyn ControlPlane>) -> Self {
        Self {
            plane,
            apis: Cache::new(),
            stages: Cache::new(),
            served: Cache::new(),
            aliases: Cache::new(),
            versions: Cache::new(),
            invocable: Cache::new(),
            images: Cache::new(),
        }
    }

    pub(crate) async fn api_id(&self, name: &str) -> Shared<String> {
        let read = |name| self.plane.api_id(name);
        self.apis.get_or(name.to_owned(), read).await
    }

    pub(crate) async fn stage(&self, api_id: &str, stage: &str) -> Shared<Stage> {
        let read = |(api, stage)| self.plane.stage(api, stage);
        let key = (api_id.to_owned(), stage.to_owned());
        self.stages.get_or(key, read).await
    }

    /// Only "served" is cached: a stage still propagating is asked again on the next request.
    pub(crate) async fn stage_served(&self, api_id: &str, stage: &str) -> Shared<()> {
        let key = (api_id.to_owned(), stage.to_owned());
        let served = self
            .served
            .get_or(key.clone(), |(api, stage)| {
                self.plane.stage_served(api, stage)
            })
            .await;
        if served.is_err() {
            self.served.forget(&key);
        }
        served
    }

    pub(crate) async fn alias(&self, function: &str, alias: &str) -> Shared<AliasTarget> {
        let read = |(function, alias)| self.plane.alias(function, alias);
        let key = (function.to_owned(), alias.to_owned());
        self.aliases.get_or(key, read).await
    }

    pub(crate) async fn version(&self, function: &str, version: &str) -> Shared<Version> {
        let read = |(function, version)| self.plane.version(function, version);
        let key = (function.to_owned(), version.to_owned());
        self.versions.get_or(key, read).await
    }

    pub(crate) async fn invocable(&self, function: &str, version: &str) -> Shared<()> {
        let read = |(function, version)| self.plane.invocable(function, version);
        let key = (function.to_owned(), version.to_owned());
        self.invocable.get_or(key, read).await
    }

    pub(crate) fn function_log(&self, function: &str) -> PathBuf {
        self.plane.function_log(function)
    }

    pub(crate) async fn unpacked(&self, image: &Image) -> Shared<Unpacked> {
        let read = |image| self.plane.unpacked(image);
        self.images.get_or(image.clone(), read).await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::AliasTarget;

    #[test]
    fn weights_send_their_share_and_the_rest_goes_to_the_main_version() {
        let target = AliasTarget {
            version: "1".into(),
            additional_weights: BTreeMap::from([("2".to_owned(), 0.2)]),
        };
        assert_eq!(target.pick(0.1), "2");
        assert_eq!(target.pick(0.25), "1");
        assert_eq!(target.pick(0.99), "1");
    }
}
