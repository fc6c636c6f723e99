//! `cargo xtask local gateway`: the local cloud's data plane (the `local-gateway` crate, which
//! serves every request) fed with control-plane reads from the front and images from the
//! registry, through the cloud traits (the caller connects the cloud: `bgd-aws`'s SDK cloud).
mod control;
mod image;

use std::{future::Future, path::PathBuf, sync::Arc};

use anyhow::{Context, Result};

use bgd_core::{
    cloud::{Account, Apis, Functions, Target},
    config::Config,
};
use control::FrontControlPlane;
use image::Images;
pub(super) use local_gateway::HEALTH_PATH;
use local_gateway::{runtime::Isolation, sandbox::Sandbox};

/// How `local up` runs the gateway (`cargo xtask local gateway`).
#[derive(Debug, Clone)]
pub struct Options {
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
pub async fn serve<C, Connecting>(
    options: Options,
    connect: impl FnOnce(Target) -> Connecting + Send + 'static,
) -> Result<()>
where
    C: Functions + Apis + Account + 'static,
    Connecting: Future<Output = Result<C>>,
{
    tokio::task::spawn_blocking(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("building the gateway's runtime")?
            .block_on(run(options, connect))
    })
    .await
    .context("running the gateway")?
}

async fn run<C, Connecting>(
    options: Options,
    connect: impl FnOnce(Target) -> Connecting,
) -> Result<()>
where
    C: Functions + Apis + Account + 'static,
    Connecting: Future<Output = Result<C>>,
{
    let cloud = connect(Target::Local {
        endpoint_url: options.moto_url.clone(),
        region: options.region.clone(),
    })
    .await?;
    let logs = options.state_dir.join("functions");
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    let plane = FrontControlPlane {
        cloud: Arc::new(cloud),
        images: Arc::new(Images::new(options.state_dir.join("images"))),
        state_dir: options.state_dir,
        front_url: options.moto_url.clone(),
        region: options.region.clone(),
        http: bgd_tls::client(),
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
