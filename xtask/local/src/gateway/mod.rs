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
use local_gateway::{
    Connect, ControlPlane, ReadError, Scope, runtime::Isolation, sandbox::Sandbox,
};

use crate::{endpoints::DEFAULT_ACCOUNT, state::function_logs};

/// How `local up` runs the gateway (`cargo xtask local gateway`).
#[derive(Debug, Clone)]
pub struct Options {
    pub port: u16,
    pub state_dir: PathBuf,
    pub moto_url: String,
    /// The region of a request whose path names none (deploy.toml's).
    pub region: String,
    /// Run functions as host processes instead of in Lambda's sandbox.
    pub unsandboxed: bool,
}

/// Serves until the process is stopped, on a runtime of its own with one thread: a request
/// hops between three sockets, and handing hops to a second worker cost a third more CPU per
/// request at concurrency 1 for no more throughput at 16 (measured on 2 cores). `connect`
/// connects the cloud as one account in one region: once for each the requests name.
pub async fn serve<C, Connecting>(
    options: Options,
    connect: impl Fn(Target) -> Connecting + Send + Sync + 'static,
) -> Result<()>
where
    C: Functions + Apis + Account + 'static,
    Connecting: Future<Output = Result<C>> + Send + 'static,
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
    connect: impl Fn(Target) -> Connecting + Send + Sync + 'static,
) -> Result<()>
where
    C: Functions + Apis + Account + 'static,
    Connecting: Future<Output = Result<C>> + Send + 'static,
{
    let images = Arc::new(Images::new(options.state_dir.join("images")));
    let (state_dir, front_url) = (options.state_dir.clone(), options.moto_url.clone());
    let default_region = options.region.clone();
    let connect: Connect = Box::new(move |scope: Scope| {
        let connecting = connect(Target::Local {
            endpoint_url: front_url.clone(),
            region: scope.region.clone(),
            account: Some(scope.account.clone()),
            reach: Default::default(),
        });
        let logs = function_logs(&state_dir, &scope.account, &scope.region, &default_region);
        let (images, front_url) = (images.clone(), front_url.clone());
        Box::pin(async move {
            std::fs::create_dir_all(&logs).map_err(|e| ReadError {
                not_found: false,
                message: format!("creating {}: {e}", logs.display()),
            })?;
            let cloud = connecting.await.map_err(|e| ReadError {
                not_found: false,
                message: format!("connecting to the local cloud: {e:#}"),
            })?;
            let plane = FrontControlPlane {
                cloud: Arc::new(cloud),
                images,
                logs,
                front_url,
                scope,
                http: bgd_tls::client(),
            };
            Ok(Arc::new(plane) as Arc<dyn ControlPlane>)
        })
    });
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
        default_scope: Scope {
            account: DEFAULT_ACCOUNT.to_owned(),
            region: options.region,
        },
        isolation,
    };
    local_gateway::serve(served, connect).await
}
