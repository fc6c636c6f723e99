//! `cargo xtask local gateway`: the local cloud's data plane (the `local-gateway` crate, which
//! serves every request) fed with control-plane reads from moto and images from the registry,
//! through the cloud module.
mod control;
mod image;

use std::{path::PathBuf, sync::Arc};

use anyhow::{Context, Result};

use crate::{
    cloud::{SdkCloud, Target},
    config::Config,
};
use control::Moto;
use image::Images;
pub(super) use local_gateway::HEALTH_PATH;
use local_gateway::{runtime::Isolation, sandbox::Sandbox};

/// How `local up` runs the gateway (`cargo xtask local gateway`).
#[derive(Debug, Clone)]
pub(super) struct Options {
    pub port: u16,
    pub state_dir: PathBuf,
    pub moto_url: String,
    pub region: String,
    /// Run functions as host processes instead of in Lambda's sandbox.
    pub unsandboxed: bool,
}

/// Serves until the process is stopped, on a runtime of its own with one thread: a request
/// hops between three sockets, and handing hops to a second worker cost a third more CPU per
/// request at concurrency 1 for no more throughput at 16 (measured on 2 cores).
pub(super) async fn serve(options: Options) -> Result<()> {
    tokio::task::spawn_blocking(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("building the gateway's runtime")?
            .block_on(run(options))
    })
    .await
    .context("running the gateway")?
}

async fn run(options: Options) -> Result<()> {
    let cloud = SdkCloud::connect(Target::Local {
        endpoint_url: options.moto_url.clone(),
        region: options.region.clone(),
    })
    .await?;
    let logs = options.state_dir.join("functions");
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    let plane = Moto {
        cloud: Arc::new(cloud),
        images: Arc::new(Images::new(options.state_dir.join("images"))),
        state_dir: options.state_dir,
        front_url: options.moto_url.clone(),
        region: options.region.clone(),
        http: crate::tls::client(),
    };
    let isolation = if options.unsandboxed {
        Isolation::Host
    } else {
        Isolation::Sandbox(Arc::new(
            Sandbox::detect().context("the gateway cannot run functions as Lambda does")?,
        ))
    };
    let served = local_gateway::Options {
        port: options.port,
        default_api: Config::load().ok().map(|c| c.api_name().to_owned()),
        region: options.region,
        isolation,
    };
    local_gateway::serve(served, Arc::new(plane)).await
}
