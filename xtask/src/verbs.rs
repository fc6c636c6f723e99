//! The verbs that talk to a cloud: connect (AWS, or the local cloud, started when needed), run
//! the pipeline, print the result once on stdout (text or `--json`); progress went to stderr.
use std::{
    io::{BufRead, IsTerminal, Write},
    time::Duration,
};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use tokio::time::Instant;

use crate::{
    cloud::{Account, Cloud, Target},
    config::Config,
    flags,
    local::LocalCloud,
    pipeline::{self, Ctx, deploy},
    progress::Progress,
    verify::Prober,
};

/// Builds the context every cloud verb runs in.
pub async fn connect(global: &flags::Global) -> Result<Ctx<Cloud>> {
    let config = Config::load()?;
    let deadline = Instant::now() + Duration::from_secs(global.timeout);
    let (target, local_gateway, function_log) = if global.local {
        let local = LocalCloud::workspace();
        let exe = std::env::current_exe().context("finding the xtask binary")?;
        eprintln!("local: making sure the local cloud is up (cargo xtask local up)");
        let endpoints = local.up(&exe).await?;
        let log = local.function_log(config.function_name());
        (endpoints.target(), Some(endpoints.gateway_url), Some(log))
    } else {
        (
            Target::Aws {
                region: config.project.region.clone(),
            },
            None,
            None,
        )
    };
    let cloud = Cloud::connect(target).await?;
    let account = cloud.account_id().await.map_err(|e| {
        let hint = if global.local {
            "is the local cloud up? `cargo xtask local status`"
        } else {
            "no usable AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or use --local)"
        };
        anyhow::Error::new(e).context(hint)
    })?;
    Ok(Ctx {
        cloud,
        config,
        account,
        local_gateway,
        function_log,
        progress: Progress::default(),
        prober: Prober::default(),
        deadline,
    })
}

/// Prints the result once on stdout: JSON with `--json`, else its Display.
fn print<T: Serialize + std::fmt::Display>(value: &T, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        print!("{value}");
    }
    Ok(())
}

impl flags::Provision {
    pub async fn run(self, global: &flags::Global) -> Result<()> {
        let ctx = connect(global).await?;
        let options = deploy::Options {
            image: self.image,
            build_id: self.build_id,
            dry_run: self.dry_run,
            ..Default::default()
        };
        print(
            &pipeline::provision::run(&ctx, &options).await?,
            global.json,
        )
    }
}

impl flags::Deploy {
    pub async fn run(self, global: &flags::Global) -> Result<()> {
        let ctx = connect(global).await?;
        let mut options = deploy::Options {
            image: self.image,
            build_id: self.build_id,
            keep_blue: self.keep_blue,
            break_lock: self.break_lock,
            unpin: self.unpin,
            dry_run: self.dry_run,
        };
        // On the local cloud a deploy sets up what is missing; against AWS, that is an explicit
        // `provision`, so a typo in deploy.toml never creates a second stack.
        if global.local && !self.dry_run && ctx.find_api().await?.is_none() {
            eprintln!("local: nothing provisioned yet: provisioning first");
            pipeline::provision::run(&ctx, &options).await?;
            // Provision built (or read) the image; the deploy ships that one, not a rebuild.
            options
                .image
                .get_or_insert_with(pipeline::default_image_dir);
        }
        let mut report = deploy::run(&ctx, &options).await?;
        report.write_calls = ctx.cloud.write_calls();
        if let Ok(path) = std::env::var("GITHUB_STEP_SUMMARY") {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .with_context(|| format!("opening $GITHUB_STEP_SUMMARY ({path})"))?;
            file.write_all(report.markdown().as_bytes())?;
        }
        print(&report, global.json)
    }
}

impl flags::Rollback {
    pub async fn run(self, global: &flags::Global) -> Result<()> {
        let ctx = connect(global).await?;
        let options = pipeline::rollback::Options {
            to: self.to,
            break_lock: self.break_lock,
            dry_run: self.dry_run,
        };
        let mut report = pipeline::rollback::run(&ctx, options).await?;
        report.write_calls = ctx.cloud.write_calls();
        print(&report, global.json)
    }
}

impl flags::Unpin {
    pub async fn run(self, global: &flags::Global) -> Result<()> {
        let ctx = connect(global).await?;
        let message = pipeline::rollback::unpin(&ctx, self.dry_run).await?;
        print(&Message { message }, global.json)
    }
}

impl flags::Status {
    pub async fn run(self, global: &flags::Global) -> Result<()> {
        let ctx = connect(global).await?;
        print(
            &pipeline::status::status(&ctx, self.show_token).await?,
            global.json,
        )
    }
}

impl flags::History {
    pub async fn run(self, global: &flags::Global) -> Result<()> {
        let ctx = connect(global).await?;
        let entries = pipeline::status::history(&ctx).await?;
        if global.json {
            println!("{}", serde_json::to_string_pretty(&entries)?);
        } else {
            print!("{}", pipeline::status::history_table(&entries));
        }
        Ok(())
    }
}

impl flags::Verify {
    pub async fn run(self, global: &flags::Global) -> Result<()> {
        let ctx = connect(global).await?;
        let report = pipeline::status::verify(&ctx, &self.stage, self.expect_version).await?;
        if global.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            println!(
                "stage {} verified: version {} alias {} build {}",
                self.stage,
                report.version.as_deref().unwrap_or("?"),
                report.alias.as_deref().unwrap_or("none"),
                report.build.git_sha
            );
        }
        Ok(())
    }
}

impl flags::Destroy {
    pub async fn run(self, global: &flags::Global) -> Result<()> {
        let ctx = connect(global).await?;
        if !self.yes && !self.dry_run {
            confirm(&format!(
                "destroy the function, API, repository and role named {}?",
                ctx.config.project.name
            ))?;
        }
        let removed = pipeline::destroy::run(&ctx, self.dry_run).await?;
        let verb = if self.dry_run {
            "would remove"
        } else {
            "removed"
        };
        let message = if removed.is_empty() {
            "nothing to remove".to_owned()
        } else {
            removed
                .iter()
                .map(|r| format!("{verb} {r}"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        print(&Message { message }, global.json)
    }
}

#[derive(Serialize)]
struct Message {
    message: String,
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.message)
    }
}

/// Asks on the terminal; without one (CI), refuses and names the flag.
fn confirm(question: &str) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!("{question} refusing without a terminal to ask: pass --yes");
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if !matches!(answer.trim(), "y" | "Y" | "yes") {
        bail!("not confirmed: nothing removed");
    }
    Ok(())
}
