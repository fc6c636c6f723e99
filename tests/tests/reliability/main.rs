//! Reliability and security end to end, each test on a local cloud of its own: runs killed at
//! every phase boundary, racing runs, clients hitting green through every switch, bad input to
//! the tooling, and secrets that must never show. One binary, so the two images build once.
mod alarms;
mod downtime;
mod fault_hooks;
mod hold;
mod kill;
mod promise;
mod races;
mod resume;
mod rollout;
mod rollout_kills;
mod security;
mod statement;
mod tooling;

use bgd_aws::{OciRegistry, SdkCloud};
use bgd_core::{
    cloud::{Apis, Functions, Stage},
    image::Registry,
    ledger,
};
use bgd_local::LocalCloud;
use e2e::stack::Stack;

/// What users reach: where alias green points and what stage green is.
#[derive(Debug, PartialEq)]
struct Green {
    version: String,
    stage: Stage,
}

async fn green(stack: &Stack, cloud: &SdkCloud) -> Green {
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

async fn blue_stage_exists(stack: &Stack, cloud: &SdkCloud) -> bool {
    let api = cloud.find_rest_api(&stack.name).await.unwrap();
    cloud.get_stage(&api.id, "blue").await.is_ok()
}

/// Whether `version` passed verification on blue, by the ledger's one rule (its record, its
/// image and the verification tag of this very publication agree).
async fn verified(stack: &Stack, version: &str) -> bool {
    let endpoints = LocalCloud::at(stack.local_dir()).endpoints().unwrap();
    let registry = OciRegistry::new(&endpoints.registry_url, None).unwrap();
    let cloud = stack.cloud().await;
    let published = cloud.get_version(&stack.name, version).await.unwrap();
    let tag = ledger::verified_tag(version.parse().unwrap(), &published.description);
    let tagged = registry.digest_of(&stack.name, &tag).await.unwrap();
    ledger::verification(&published, tagged.as_deref()).is_ok()
}
