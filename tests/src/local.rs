//! A local cloud per test: its own state dir under target/, its own ports, stopped (by pid)
//! when the test ends, passing or not.
use std::{
    path::PathBuf,
    sync::atomic::{AtomicU32, Ordering},
};

use xtask::{
    cloud::{Cloud, ImageRef, Repository},
    image::{Contents, Image, Registry},
    local::{Endpoints, LocalCloud},
    setup,
};

use crate::release_bootstrap;

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
    pub local: LocalCloud,
    pub endpoints: Endpoints,
    pub cloud: Cloud,
}

impl Running {
    /// `local up` in a fresh state dir.
    pub async fn up() -> Self {
        let dir = setup::target_dir().join("tmp").join(unique("local-cloud"));
        let local = LocalCloud::at(&dir);
        let endpoints = local
            .up(&xtask_binary())
            .await
            .unwrap_or_else(|e| panic!("local up in {}: {e:#}", dir.display()));
        let cloud = Cloud::connect(endpoints.target()).await.unwrap();
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
        let bootstrap = std::fs::read(release_bootstrap()).unwrap();
        let image = Image::assemble(
            &Contents {
                bootstrap: &bootstrap,
                ca_bundle: variant.as_bytes(),
            },
            "x86_64",
            "2026-01-01T00:00:00Z",
            0,
        )
        .unwrap();
        let registry = Registry::new(&self.endpoints.registry_url, None).unwrap();
        let digest = registry
            .push(&repository.name, &image, &[variant])
            .await
            .unwrap();
        repository.image(&digest)
    }

    /// GET on the gateway, as a client of the API would.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.endpoints.gateway_url)
    }

    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.local.dir().join(name)).unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Err(e) = self.local.down() {
            eprintln!("local down in {}: {e:#}", self.local.dir().display());
        }
        // A failed test keeps its logs (moto, registry, gateway, functions) to read.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(self.local.dir());
        }
    }
}
