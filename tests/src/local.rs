//! A local cloud per test: its own state dir under target/, its own ports, stopped (by pid)
//! when the test ends, passing or not.
use std::{
    path::PathBuf,
    sync::atomic::{AtomicU32, Ordering},
};

use bgd_aws::SdkCloud;
use bgd_core::{
    cloud::{Account, ImageRef, Repository},
    setup,
};
use bgd_local::{Endpoints, LocalCloud};

mod fixtures;

pub use fixtures::*;

/// The xtask binary, which serves the gateway; `cargo xtask test` built it to run itself.
pub fn xtask_binary() -> PathBuf {
    let path = setup::target_dir().join("debug/xtask");
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo xtask test` (or `cargo build -p xtask` first)",
        path.display()
    );
    path
}

/// The tests' build of xtask with the fault hooks armed; cargo builds it before this crate's
/// tests run.
pub fn xtask_faults_binary() -> PathBuf {
    setup::target_dir().join("debug/xtask-faults")
}

/// A name no other test of this run uses (functions, APIs and repositories share one moto).
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

pub struct Running {
    pub local: Stopping,
    pub endpoints: Endpoints,
    pub cloud: SdkCloud,
}

impl Running {
    /// `local up` in a fresh state dir.
    pub async fn up() -> Self {
        Self::up_with(false).await
    }

    /// `local up --unsandboxed` in a fresh state dir: functions run as host processes.
    pub async fn up_unsandboxed() -> Self {
        Self::up_with(true).await
    }

    async fn up_with(unsandboxed: bool) -> Self {
        let dir = setup::target_dir().join("tmp").join(unique("local-cloud"));
        Self::up_in(dir, unsandboxed).await
    }

    /// `local up` in `dir`. What it starts is stopped when the test ends, also when this is
    /// given up half-way or panics: the guard exists before the first process does.
    pub async fn up_in(dir: PathBuf, unsandboxed: bool) -> Self {
        let local = Stopping(LocalCloud::at(&dir).unsandboxed(unsandboxed));
        let endpoints = local
            .up(&xtask_binary())
            .await
            .unwrap_or_else(|e| panic!("local up in {}: {e:#}", dir.display()));
        let cloud = SdkCloud::connect(endpoints.target()).await.unwrap();
        Self {
            local,
            endpoints,
            cloud,
        }
    }

    /// An image of the release bootstrap, pushed to the local registry and tagged, as Lambda
    /// is told of it (`ECR_REPO_URI@sha256:DIGEST`). Images of different `variant`s differ only
    /// in their CA bundle bytes, so two digests cost one build.
    pub async fn push_app_image(&self, repository: &Repository, variant: &str) -> ImageRef {
        push_app_image(&self.endpoints, repository, variant).await
    }

    /// A new Active image function named after `prefix`, running an app image pushed to a
    /// repository of its own: the function's name and the image.
    pub async fn function_with_app_image(&self, prefix: &str) -> (String, ImageRef) {
        let name = unique(prefix);
        let repository = self.cloud.ensure_repository(&name).await.unwrap();
        let image = self.push_app_image(&repository, prefix).await;
        (create_function(&self.cloud, &name, &image).await, image)
    }

    /// An image whose `/bootstrap` is `bootstrap`, pushed and tagged `tag`.
    pub async fn push_image(
        &self,
        repository: &Repository,
        bootstrap: &[u8],
        tag: &str,
    ) -> ImageRef {
        push_image(&self.endpoints, repository, bootstrap, tag).await
    }

    /// A Lambda call the SDK's `Functions` trait has no call for (a role or dead-letter
    /// change, an image by tag), sent to the front as the SDK would: a REST-JSON request whose
    /// SigV4 scope names region and service.
    pub async fn lambda_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> reqwest::Response {
        let scope = format!(
            "AWS4-HMAC-SHA256 Credential=local/20260101/{}/lambda/aws4_request, SignedHeaders=host, Signature=0",
            self.cloud.region()
        );
        bgd_tls::client()
            .request(
                method,
                format!("{}/2015-03-31/functions/{path}", self.endpoints.front_url),
            )
            .header("authorization", scope)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// GET on the gateway, as a client of the API would.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.endpoints.gateway_url)
    }

    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.local.dir().join(name)).unwrap_or_default()
    }
}

/// A local cloud that is stopped (by pid) when this is dropped, passing or not. Held from
/// before `local up` starts anything: a `Running` and its `Drop` existed only once up and the
/// SDK's connection had succeeded, so a panic or a test given up in between left the processes
/// running (security-audit-3 #27).
pub struct Stopping(LocalCloud);

impl std::ops::Deref for Stopping {
    type Target = LocalCloud;

    fn deref(&self) -> &LocalCloud {
        &self.0
    }
}

impl Drop for Stopping {
    fn drop(&mut self) {
        if let Err(e) = self.down() {
            eprintln!("local down in {}: {e:#}", self.dir().display());
        }
        // A failed test keeps its logs (moto, registry, gateway, functions) to read.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(self.dir());
        }
    }
}
