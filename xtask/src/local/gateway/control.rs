//! The control-plane reads a request needs (API, stage, routes, alias, version), cached for at
//! most [`TTL`] so a request does not cost several moto calls, while an alias moved in moto
//! still takes effect within that time (AWS alias moves take a moment to propagate too).
//! An entry in use is refreshed in the background once half its life is gone, so under load
//! no request waits for moto, and concurrent requests do not all ask at once when it expires.
use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::cloud::{
    Account, Alias, Apis, Cloud, CloudResult, Functions, RegistryAccess, Route, Stage, Version,
};

pub(crate) const TTL: Duration = Duration::from_secs(1);
const REFRESH_AFTER: Duration = Duration::from_millis(500);

struct Entry<V> {
    fetched: Instant,
    value: V,
    refreshing: bool,
}

/// Answers (errors too, so a missing stage is not asked again per request) younger than TTL.
struct Cache<K, V> {
    entries: Mutex<HashMap<K, Entry<V>>>,
}

impl<K, V> Cache<K, V>
where
    K: Eq + Hash + Clone + Send + 'static,
    V: Clone + Send + 'static,
{
    fn new() -> Arc<Self> {
        Arc::new(Self {
            entries: Mutex::new(HashMap::new()),
        })
    }

    /// The cached value for `key`, or what `read` answers; `read` runs at most once, in the
    /// background when the cached value is still fresh enough to serve.
    async fn get_or<F>(self: &Arc<Self>, key: K, read: impl FnOnce() -> F) -> V
    where
        F: Future<Output = V> + Send + 'static,
    {
        if let Some(entry) = self.entries.lock().expect("lock").get_mut(&key) {
            let age = entry.fetched.elapsed();
            if age < TTL {
                if age >= REFRESH_AFTER && !entry.refreshing {
                    entry.refreshing = true;
                    let (cache, fresh) = (self.clone(), read());
                    tokio::spawn(async move { cache.put(key, fresh.await) });
                }
                return entry.value.clone();
            }
        }
        let value = read().await;
        self.put(key, value.clone());
        value
    }

    fn put(&self, key: K, value: V) {
        let entry = Entry {
            fetched: Instant::now(),
            value,
            refreshing: false,
        };
        self.entries.lock().expect("lock").insert(key, entry);
    }
}

type Shared<T> = Arc<CloudResult<T>>;

/// The cached answer, or its error for a request's 502.
pub(crate) fn answer<T>(shared: &Shared<T>) -> anyhow::Result<&T> {
    shared.as_ref().as_ref().map_err(|e| anyhow::anyhow!("{e}"))
}

pub(crate) struct Control {
    cloud: Arc<Cloud>,
    account: Arc<Cache<(), Shared<String>>>,
    registry: Arc<Cache<(), Shared<RegistryAccess>>>,
    apis: Arc<Cache<String, Shared<String>>>,
    stages: Arc<Cache<(String, String), Shared<Stage>>>,
    routes: Arc<Cache<String, Shared<Vec<Route>>>>,
    aliases: Arc<Cache<(String, String), Shared<Alias>>>,
    versions: Arc<Cache<(String, String), Shared<Version>>>,
}

impl Control {
    pub(crate) fn new(cloud: Cloud) -> Self {
        Self {
            cloud: Arc::new(cloud),
            account: Cache::new(),
            registry: Cache::new(),
            apis: Cache::new(),
            stages: Cache::new(),
            routes: Cache::new(),
            aliases: Cache::new(),
            versions: Cache::new(),
        }
    }

    pub(crate) async fn account_id(&self) -> Shared<String> {
        let cloud = self.cloud.clone();
        let read = || async move { Arc::new(cloud.account_id().await) };
        self.account.get_or((), read).await
    }

    pub(crate) async fn registry_access(&self) -> Shared<RegistryAccess> {
        let cloud = self.cloud.clone();
        let read = || async move { Arc::new(cloud.registry_access().await) };
        self.registry.get_or((), read).await
    }

    /// The id of the REST API named `name`.
    pub(crate) async fn api_id(&self, name: &str) -> Shared<String> {
        let (cloud, owned) = (self.cloud.clone(), name.to_owned());
        let read = || async move { Arc::new(cloud.find_rest_api(&owned).await.map(|api| api.id)) };
        self.apis.get_or(name.to_owned(), read).await
    }

    pub(crate) async fn stage(&self, api_id: &str, stage: &str) -> Shared<Stage> {
        let key = (api_id.to_owned(), stage.to_owned());
        let (cloud, (api, name)) = (self.cloud.clone(), key.clone());
        let read = || async move { Arc::new(cloud.get_stage(&api, &name).await) };
        self.stages.get_or(key, read).await
    }

    pub(crate) async fn routes(&self, api_id: &str) -> Shared<Vec<Route>> {
        let (cloud, api) = (self.cloud.clone(), api_id.to_owned());
        let read = || async move { Arc::new(cloud.get_routes(&api).await) };
        self.routes.get_or(api_id.to_owned(), read).await
    }

    pub(crate) async fn alias(&self, function: &str, alias: &str) -> Shared<Alias> {
        let key = (function.to_owned(), alias.to_owned());
        let (cloud, (function, alias)) = (self.cloud.clone(), key.clone());
        let read = || async move { Arc::new(cloud.get_alias(&function, &alias).await) };
        self.aliases.get_or(key, read).await
    }

    pub(crate) async fn version(&self, function: &str, version: &str) -> Shared<Version> {
        let key = (function.to_owned(), version.to_owned());
        let (cloud, (function, version)) = (self.cloud.clone(), key.clone());
        let read = || async move { Arc::new(cloud.get_version(&function, &version).await) };
        self.versions.get_or(key, read).await
    }
}
