//! `cargo xtask local up | down | status | env` (and the hidden `gateway` that `up` runs).
use anyhow::{Context, Result};

use crate::flags::{self, LocalCommand};
use bgd_local::{LocalCloud, front, gateway};

impl flags::Local {
    pub async fn run(self, json: bool) -> Result<()> {
        let cloud = LocalCloud::workspace();
        match self.command {
            LocalCommand::Up(args) => {
                let exe = std::env::current_exe().context("finding the xtask binary")?;
                let endpoints = cloud.unsandboxed(args.unsandboxed).up(&exe).await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&endpoints)?);
                } else {
                    println!("{endpoints}");
                }
                eprintln!(
                    "local: `eval \"$(cargo xtask local env)\"` points the aws CLI and SDKs here"
                );
            }
            LocalCommand::Down => {
                let stopped = cloud.down()?;
                if stopped.is_empty() {
                    println!("nothing was running");
                }
                for (component, pid) in stopped {
                    println!("stopped {} (pid {pid})", component.name());
                }
            }
            LocalCommand::Status => {
                let statuses = cloud.status().await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&statuses)?);
                } else {
                    for s in &statuses {
                        let health = match (s.running, s.healthy) {
                            (true, true) => "healthy",
                            (true, false) => "running, not answering",
                            (false, _) if s.pid.is_some() => "dead",
                            (false, _) => "not started",
                        };
                        let pid = s.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into());
                        let url = s.url.as_deref().unwrap_or("-");
                        println!("{:<9} {health:<24} pid {pid:<8} {url}", s.component.name());
                    }
                }
                if !statuses.iter().all(|s| s.healthy) {
                    anyhow::bail!("the local cloud is not (fully) up: run cargo xtask local up");
                }
            }
            LocalCommand::Env(args) => {
                let mut endpoints = cloud.endpoints()?;
                if args.account.is_some() || args.region.is_some() {
                    let region = args.region.unwrap_or_else(|| endpoints.region.clone());
                    endpoints = endpoints.scoped(args.account.as_deref(), &region);
                }
                for (name, value) in endpoints.env() {
                    println!("export {name}={value}");
                }
            }
            LocalCommand::Front(args) => {
                front::serve(front::Options {
                    port: args.server.port,
                    state_dir: args.server.state_dir,
                    moto_url: args.server.moto_url,
                    registry_url: args.registry_url,
                    region: args.region,
                })
                .await?;
            }
            LocalCommand::Gateway(args) => {
                gateway::serve(
                    gateway::Options {
                        port: args.server.port,
                        state_dir: args.server.state_dir,
                        moto_url: args.server.moto_url,
                        region: args.region,
                        unsandboxed: args.unsandboxed,
                    },
                    bgd_aws::SdkCloud::connect,
                )
                .await?;
            }
        }
        Ok(())
    }
}
