//! Reliability and security end to end, each test on a local cloud of its own: runs killed at
//! every phase boundary, racing runs, clients hitting green through every switch, bad input to
//! the tooling, and secrets that must never show. One binary, so the two images build once.
mod downtime;
mod fault_hooks;
mod kill;
mod races;
mod security;
mod tooling;

use e2e::stack::Stack;
use xtask::{
    cloud::{Apis, Cloud, Functions, Stage},
    image::Registry,
    local::LocalCloud,
};

/// What users reach: where alias green points and what stage green is.
#[derive(Debug, PartialEq)]
struct Green {
    version: String,
    stage: Stage,
}

async fn green(stack: &Stack, cloud: &Cloud) -> Green {
    let api = cloud.find_rest_api(&stack.name).await.unwrap();
    Green {
        version: cloud
            .get_alias(&stack.name, "green")
            .await
            .unwrap()
            .target
            .version,
        stage: cloud.get_stage(&api.id, "green").await.unwrap(),
    }
}

async fn blue_stage_exists(stack: &Stack, cloud: &Cloud) -> bool {
    let api = cloud.find_rest_api(&stack.name).await.unwrap();
    cloud.get_stage(&api.id, "blue").await.is_ok()
}

/// Whether `version` passed verification on blue: promotion tags its image `verified-N`.
async fn verified(stack: &Stack, version: &str) -> bool {
    let endpoints = LocalCloud::at(stack.local_dir()).endpoints().unwrap();
    let registry = Registry::new(&endpoints.registry_url, None).unwrap();
    registry
        .has_manifest(&stack.name, &format!("verified-{version}"))
        .await
        .unwrap()
}
