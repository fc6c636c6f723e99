//! The verbs that talk to a cloud: connect (AWS, or the local cloud, started when needed), run
//! the pipeline, print the result once on stdout (text or `--json`); progress went to stderr.
use std::{
    io::{BufRead, IsTerminal, Write},
    time::{Duration, SystemTime},
};

use anyhow::{Context, Result, bail};

use crate::{
    flags,
    output::{Message, print, stating_green},
};
use bgd_aws::SdkCloud;
use bgd_core::{
    cloud::{Account, Apis, Functions, Reach, Target},
    config::Config,
    health::Traffic,
    ledger::run_deadline,
    phase::Phase,
    pipeline::{self, Ctx, deploy},
    probe::Prober,
    progress::Progress,
    secret::redact,
};
use bgd_local::LocalCloud;

/// Builds the context every cloud verb runs in.
pub(crate) async fn connect(global: &flags::Global, config: Config) -> Result<Ctx<SdkCloud>> {
    let credentials_expire = (!global.local)
        .then(credentials_expire)
        .transpose()?
        .flatten();
    let deadline = run_deadline(global.timeout, credentials_expire);
    // How the environment is reached, on AWS and the local cloud alike.
    let reach = config
        .placement
        .as_ref()
        .map(|p| Reach {
            profile: p.profile.clone(),
            role_arn: p.role_arn.clone(),
        })
        .unwrap_or_default();
    let (target, local_gateway, function_log) = if global.local {
        let local = LocalCloud::workspace();
        let exe = std::env::current_exe().context("finding the xtask binary")?;
        eprintln!("local: making sure the local cloud is up (cargo xtask local up)");
        let mut endpoints = local.up(&exe).await?;
        // An environment's account and region: the data plane serves that account's stages
        // there, and its functions' logs are that account's.
        if let Some(placement) = &config.placement {
            endpoints = endpoints.scoped(Some(&placement.account), &placement.region);
        }
        let log = local.function_log_in(
            endpoints.account.as_deref(),
            &endpoints.region,
            config.function_name(),
        );
        // The local cloud's credentials are the environment's account's, unless it is
        // reached by a profile or a role, as on AWS.
        let target = Target::Local {
            endpoint_url: endpoints.front_url.clone(),
            region: endpoints.region.clone(),
            account: endpoints
                .account
                .clone()
                .filter(|_| reach == Reach::default()),
            reach,
        };
        (target, Some(endpoints.gateway_url), Some(log))
    } else {
        let target = Target::Aws {
            region: config.project.region.clone(),
            reach,
        };
        (target, None, None)
    };
    let cloud = SdkCloud::connect(target).await?;
    let account = cloud.account_id().await.map_err(|e| {
        let hint = if global.local {
            "is the local cloud up? `cargo xtask local status`"
        } else {
            "no usable AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or use --local)"
        };
        anyhow::Error::new(e).context(hint)
    })?;
    if let Some(placement) = config.placement.as_ref().filter(|p| p.account != account) {
        bail!(
            "environment {} is account {}, but these credentials are for account {account}: nothing was changed; reach {} as deploy.toml's [environments.{}] says (its profile or role_arn), or sign in to it",
            placement.environment,
            placement.account,
            placement.account,
            placement.environment
        );
    }
    let traffic = Some(Box::new(cloud.traffic()) as Box<dyn Traffic>);
    Ok(Ctx {
        prober: Prober::new(bgd_aws::HttpClient::default()).with_paths(config.app.paths()),
        cloud,
        config,
        account,
        local_gateway,
        function_log,
        progress: Progress::default(),
        deadline,
        credentials_expire,
        hand_off: global.hand_off,
        green_writes: Default::default(),
        traffic,
    })
}

/// When session credentials from the environment expire: the SDK refreshes every other kind
/// (profiles, SSO, web identity, instance roles), but not keys in the environment, whose expiry
/// only `AWS_CREDENTIAL_EXPIRATION` tells (the aws CLI's `configure export-credentials`,
/// aws-vault and others set it).
fn credentials_expire() -> Result<Option<SystemTime>> {
    let from_environment = std::env::var_os("AWS_ACCESS_KEY_ID").is_some()
        && std::env::var_os("AWS_SESSION_TOKEN").is_some();
    let Some(at) = std::env::var("AWS_CREDENTIAL_EXPIRATION")
        .ok()
        .filter(|_| from_environment)
    else {
        return Ok(None);
    };
    let epoch = bgd_core::ledger::epoch_of(&at).with_context(|| {
        format!("AWS_CREDENTIAL_EXPIRATION {at:?} is no RFC 3339 time (e.g. 2026-12-07T15:04:05Z)")
    })?;
    Ok(Some(SystemTime::UNIX_EPOCH + Duration::from_secs(epoch)))
}

/// Builds this commit's image when `--image` names none, and starts `--timeout` after it: the
/// deadline bounds the work with the cloud, which a local build (minutes, the first time) ate
/// into (aws-audit-3 #17; CI builds in a step of its own and passes `--image`). After the
/// connection, so missing credentials stop the run before the build.
async fn build_then_start_deadline(
    ctx: &mut Ctx<SdkCloud>,
    options: &mut deploy::Options,
    global: &flags::Global,
) -> Result<()> {
    if options.image.is_none() {
        ctx.progress.phase(Phase::Build, ctx.image(options)).await?;
        options.image = Some(bgd_core::image::default_image_dir());
        ctx.deadline = run_deadline(global.timeout, ctx.credentials_expire);
    }
    Ok(())
}

/// Whether provision finished: the REST API with stage green, and alias green.
async fn provisioned(ctx: &Ctx<SdkCloud>) -> Result<bool> {
    let Some(api) = ctx.find_api().await? else {
        return Ok(false);
    };
    let stage = pipeline::absent_as_none(ctx.cloud.get_stage(&api.id, pipeline::GREEN).await)?;
    let alias =
        pipeline::absent_as_none(ctx.cloud.get_alias(ctx.function(), pipeline::GREEN).await)?;
    Ok(stage.is_some() && alias.is_some())
}

impl flags::Provision {
    pub async fn run(&self, global: &flags::Global, config: Config) -> Result<()> {
        let mut ctx = connect(global, config).await?;
        // An unset `${VAR}` stops the run before the build, not after it.
        ctx.config.settings()?;
        let mut options = deploy::Options {
            image: self.image.clone(),
            build_id: self.build_id.clone(),
            dry_run: self.dry_run,
            ..Default::default()
        };
        // A finished stack needs no image: provision then builds nothing.
        if !provisioned(&ctx).await? {
            build_then_start_deadline(&mut ctx, &mut options, global).await?;
        }
        print(&provision(&ctx, &options).await?, global.json)
    }
}

/// Provision, then the repository's lifecycle rule (through `Pruning`, a trait apart from
/// what provision's pipeline needs).
async fn provision(
    ctx: &Ctx<SdkCloud>,
    options: &deploy::Options,
) -> Result<pipeline::provision::Report> {
    // Boxed: provision's future, on the SDK, is large in debug builds (see `catching_panics`).
    let mut report = Box::pin(pipeline::provision::run(ctx, options)).await?;
    if !options.dry_run && pipeline::lifecycle::keep_verified_images(ctx).await? {
        report.created.push(
            "the repository's lifecycle policy: verified-* images kept, and the 3 newest others pushed (one of them $LATEST's); others expire 30 days after their push"
                .into(),
        );
    }
    Ok(report)
}

impl flags::Deploy {
    pub async fn run(&self, global: &flags::Global, config: Config) -> Result<()> {
        let mut ctx = connect(global, config).await?;
        ctx.config.settings()?;
        let mut options = deploy::Options {
            image: self.image.clone(),
            build_id: self.build_id.clone(),
            keep_blue: self.keep_blue,
            break_lock: self.break_lock,
            unpin: self.unpin,
            switch_architecture: self.switch_architecture,
            dry_run: self.dry_run,
            hold: self
                .hold
                .then(|| Duration::from_secs(self.hold_minutes.saturating_mul(60))),
            rollout: Some(pipeline::Plan {
                strategy: self.strategy.unwrap_or(ctx.config.rollout.strategy),
                bake: self.bake.unwrap_or(ctx.config.rollout.bake),
            }),
            force: self.force,
        };
        build_then_start_deadline(&mut ctx, &mut options, global).await?;
        let work = async {
            // On the local cloud a deploy sets up what is missing (also what a provision that
            // failed verification left unfinished); against AWS that is an explicit
            // `provision`, so a typo in deploy.toml never creates a second stack.
            if global.local && !self.dry_run && !provisioned(&ctx).await? {
                eprintln!("local: the stack is not (fully) provisioned: provisioning first");
                provision(&ctx, &options).await?;
            }
            let mut report = deploy::run(&ctx, &options).await?;
            report.write_calls = ctx.cloud.write_calls();
            if let Ok(path) = std::env::var("GITHUB_STEP_SUMMARY") {
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .with_context(|| format!("opening $GITHUB_STEP_SUMMARY ({path})"))?;
                file.write_all(redact(&report.markdown()).as_bytes())?;
            }
            anyhow::Ok(report)
        };
        stating_green(&ctx, global.json, work).await
    }
}

impl flags::Promote {
    pub async fn run(&self, global: &flags::Global, config: Config) -> Result<()> {
        let ctx = connect(global, config).await?;
        let work = async {
            let options = pipeline::hold::Options {
                dry_run: self.dry_run,
                strategy: self.strategy,
                bake: self.bake,
            };
            let mut report = pipeline::hold::promote_held(&ctx, options).await?;
            report.write_calls = ctx.cloud.write_calls();
            anyhow::Ok(report)
        };
        stating_green(&ctx, global.json, work).await
    }
}

impl flags::Resume {
    pub async fn run(&self, global: &flags::Global, config: Config) -> Result<()> {
        let mut ctx = connect(global, config).await?;
        // Carrying a rollout on is what resume is for: its own time running out hands off again.
        ctx.hand_off = true;
        let work = async {
            let mut report = pipeline::resume::run(&ctx, self.break_lock, self.dry_run).await?;
            report.write_calls = ctx.cloud.write_calls();
            anyhow::Ok(report)
        };
        stating_green(&ctx, global.json, work).await
    }
}

impl flags::Abort {
    pub async fn run(&self, global: &flags::Global, config: Config) -> Result<()> {
        let ctx = connect(global, config).await?;
        let message = pipeline::hold::abort(&ctx, self.dry_run).await?;
        print(&Message { message }, global.json)
    }
}

impl flags::Rollback {
    pub async fn run(&self, global: &flags::Global, config: Config) -> Result<()> {
        self.run_in(global, &connect(global, config).await?).await
    }

    /// The rollback on a cloud already connected.
    pub(crate) async fn run_in(&self, global: &flags::Global, ctx: &Ctx<SdkCloud>) -> Result<()> {
        let options = pipeline::rollback::Options {
            to: self.to,
            break_lock: self.break_lock,
            force: self.force,
            dry_run: self.dry_run,
        };
        let work = async {
            let mut report = pipeline::rollback::run(ctx, options).await?;
            report.write_calls = ctx.cloud.write_calls();
            anyhow::Ok(report)
        };
        stating_green(ctx, global.json, work).await
    }
}

impl flags::Unpin {
    pub async fn run(&self, global: &flags::Global, config: Config) -> Result<()> {
        let ctx = connect(global, config).await?;
        let message = pipeline::unpin::unpin(&ctx, self.dry_run, self.break_lock).await?;
        print(&Message { message }, global.json)
    }
}

impl flags::Prune {
    pub async fn run(&self, global: &flags::Global, config: Config) -> Result<()> {
        let ctx = connect(global, config).await?;
        let options = pipeline::prune::Options {
            keep: self.keep,
            dry_run: self.dry_run,
        };
        print(&pipeline::prune::run(&ctx, &options).await?, global.json)
    }
}

impl flags::Status {
    pub async fn run(&self, global: &flags::Global, config: Config) -> Result<()> {
        let ctx = connect(global, config).await?;
        print(
            &pipeline::status::status(&ctx, self.show_token).await?,
            global.json,
        )
    }
}

impl flags::History {
    pub async fn run(&self, global: &flags::Global, config: Config) -> Result<()> {
        let ctx = connect(global, config).await?;
        print(&pipeline::history::history(&ctx).await?, global.json)
    }
}

impl flags::Verify {
    pub async fn run(&self, global: &flags::Global, config: Config) -> Result<()> {
        let ctx = connect(global, config).await?;
        let report = pipeline::status::verify(&ctx, &self.stage, self.expect_version).await?;
        print(&report, global.json)
    }
}

impl flags::Destroy {
    pub async fn run(&self, global: &flags::Global, config: Config) -> Result<()> {
        let ctx = connect(global, config).await?;
        if !self.yes && !self.dry_run {
            confirm(&format!(
                "destroy the function, API, repository and role named {}?",
                ctx.config.project.name
            ))?;
        }
        let removed = pipeline::destroy::run(&ctx, self.dry_run, self.break_lock).await?;
        let verb = if self.dry_run {
            "would remove"
        } else {
            "removed"
        };
        let mut lines: Vec<String> = removed.iter().map(|r| format!("{verb} {r}")).collect();
        if lines.is_empty() {
            lines.push("nothing to remove".to_owned());
        }
        // Lambda writes the function's logs into a log group it creates itself; destroy has
        // no CloudWatch Logs client, so it names what stays rather than leave it unsaid.
        lines.push(format!(
            "left     CloudWatch log group /aws/lambda/{} (the function's logs, if any: `aws logs delete-log-group --log-group-name /aws/lambda/{}` removes it)",
            ctx.function(),
            ctx.function()
        ));
        let message = lines.join("\n");
        print(&Message { message }, global.json)
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
