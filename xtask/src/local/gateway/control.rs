//! The control-plane reads a request needs (API, stage, routes, alias, version), cached for at
//! most [`TTL`] so a request does not cost several moto calls, while an alias moved in moto
//! still takes effect within that time (AWS alias moves take a moment to propagate too).
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

/// Answers (errors too, so a missing stage is not asked again per request) younger than TTL.
struct Cache<K, V> {
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash + Clone, V: Clone> Cache<K, V> {
    fn new() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }

    async fn get_or<F>(&self, key: &K, read: F) -> V
    where
        F: Future<Output = V>,
    {
        if let Some((at, value)) = self.entries.lock().expect("lock").get(key)
            && at.elapsed() < TTL
        {
            return value.clone();
        }
        let value = read.await;
        self.entries
            .lock()
            .expect("lock")
            .insert(key.clone(), (Instant::now(), value.clone()));
        value
    }
}

type Shared<T> = Arc<CloudResult<T>>;

pub(crate) struct Control {
    cloud: Cloud,
    account: Cache<(), Shared<String>>,
    registry: Cache<(), Shared<RegistryAccess>>,
    apis: Cache<String, Shared<String>>,
    stages: Cache<(String, String), Shared<Stage>>,
    routes: Cache<String, Shared<Vec<Route>>>,
    aliases: Cache<(String, String), Shared<Alias>>,
    versions: Cache<(String, String), Shared<Version>>,
}

impl Control {
    pub(crate) fn new(cloud: Cloud) -> Self {
        Self {
            cloud,
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
        let read = async { Arc::new(self.cloud.account_id().await) };
        self.account.get_or(&(), read).await
    }

    pub(crate) async fn registry_access(&self) -> Shared<RegistryAccess> {
        let read = async { Arc::new(self.cloud.registry_access().await) };
        self.registry.get_or(&(), read).await
    }

    /// The id of the REST API named `name`.
    pub(crate) async fn api_id(&self, name: &str) -> Shared<String> {
        let read = async { Arc::new(self.cloud.find_rest_api(name).await.map(|api| api.id)) };
        self.apis.get_or(&name.to_owned(), read).await
    }

    pub(crate) async fn stage(&self, api_id: &str, stage: &str) -> Shared<Stage> {
        let read = async { Arc::new(self.cloud.get_stage(api_id, stage).await) };
        self.stages
            .get_or(&(api_id.to_owned(), stage.to_owned()), read)
            .await
    }

    pub(crate) async fn routes(&self, api_id: &str) -> Shared<Vec<Route>> {
        let read = async { Arc::new(self.cloud.get_routes(api_id).await) };
        self.routes.get_or(&api_id.to_owned(), read).await
    }

    pub(crate) async fn alias(&self, function: &str, alias: &str) -> Shared<Alias> {
        let read = async { Arc::new(self.cloud.get_alias(function, alias).await) };
        self.aliases
            .get_or(&(function.to_owned(), alias.to_owned()), read)
            .await
    }

    pub(crate) async fn version(&self, function: &str, version: &str) -> Shared<Version> {
        let read = async { Arc::new(self.cloud.get_version(function, version).await) };
        self.versions
            .get_or(&(function.to_owned(), version.to_owned()), read)
            .await
    }
}
