//! The verbs as environments change them: a deploy builds (or takes `--from` another
//! environment) once and ships to every region in order; `status --environments` reads every
//! environment's green into one table.
use anyhow::{Context, Result};
use serde::Serialize;

use crate::{
    flags,
    output::print,
    places::{self, OnFailure},
    verbs::connect,
};
use bgd_core::{
    cloud::Functions,
    config::Config,
    facts::Origin,
    ledger::{self, VersionRecord},
    pipeline::{self, GREEN},
    setup,
};

impl flags::Deploy {
    /// One image for every region: taken from `--from`'s green, or built once here (unless
    /// `--image` names one); a region that fails stops the regions after it.
    pub async fn run_everywhere(mut self, global: &flags::Global) -> Result<()> {
        let configs = places::configs(global)?;
        if let Some(source) = &self.from {
            self.image = Some(take(global, source).await?);
        } else if self.image.is_none() && configs.len() > 1 {
            let dir = bgd_core::image::default_image_dir();
            eprintln!("==> build (once, for every region)");
            tokio::task::block_in_place(|| {
                bgd_core::image::build_image(
                    &xshell::Shell::new()?,
                    &configs[0],
                    self.build_id.clone(),
                    &dir,
                )
            })?;
            self.image = Some(dir);
        }
        places::each(global, configs, OnFailure::Stop, async |config| {
            self.run(global, config).await
        })
        .await
    }
}

impl flags::Rollback {
    /// With several regions, "back" is one image for the whole environment: the one its first
    /// region served before its last promotion. Each region serving another goes back to its
    /// own newest version of that image; one already serving it (a region a failed deploy never
    /// reached) is left alone, where rolling back its own last promotion would move it further.
    pub async fn run_everywhere(self, global: &flags::Global) -> Result<()> {
        let configs = places::configs(global)?;
        if configs.len() == 1 {
            return places::each(global, configs, OnFailure::CarryOn, async |config| {
                self.run(global, config).await
            })
            .await;
        }
        if let Some(to) = self.to {
            anyhow::bail!(
                "--to {to}: each region numbers its own versions; name one region with --region, or leave --to out to put every region back on one image"
            );
        }
        let back = image_before(global, configs[0].clone()).await?;
        eprintln!("==> every region back on {back}");
        places::each(global, configs, OnFailure::CarryOn, async |config| {
            let ctx = connect(global, config).await?;
            match version_of(&ctx, &back).await? {
                Target::Serves(version) => {
                    eprintln!("    green already serves it (version {version}): nothing to do");
                    Ok(())
                }
                Target::Version(to) => {
                    let rollback = flags::Rollback {
                        to: Some(to),
                        ..self
                    };
                    rollback.run_in(global, &ctx).await
                }
            }
        })
        .await
    }
}

/// The image the region of `config` served before its last promotion.
async fn image_before(global: &flags::Global, config: Config) -> Result<String> {
    let ctx = connect(global, config).await?;
    let green = ctx.cloud.get_alias(ctx.function(), GREEN).await?;
    let before = ledger::Promotion::parse(&green.description)
        .ok()
        .and_then(|p| p.from)
        .with_context(|| {
            format!(
                "green's record in {} names no version before the last promotion: put each region back with --region and --to",
                ctx.config.project.region
            )
        })?;
    let version = ctx
        .cloud
        .get_version(ctx.function(), &before.to_string())
        .await?;
    Ok(VersionRecord::parse(&version.description)
        .with_context(|| format!("version {before} was not published by bgd"))?
        .digest)
}

enum Target {
    /// Green serves the image already, as this version.
    Serves(String),
    /// The newest version of the image, to roll back to.
    Version(u64),
}

/// Where green in `ctx`'s region goes to serve image `digest`.
async fn version_of(
    ctx: &bgd_core::pipeline::Ctx<bgd_aws::SdkCloud>,
    digest: &str,
) -> Result<Target> {
    let function = ctx.function();
    let green = ctx.cloud.get_alias(function, GREEN).await?;
    let serving = ctx
        .cloud
        .get_version(function, &green.target.version)
        .await?;
    let record = |description: &str| VersionRecord::parse(description).ok();
    if green.target.additional_weights.is_empty()
        && record(&serving.description).is_some_and(|r| r.digest == digest)
    {
        return Ok(Target::Serves(green.target.version));
    }
    ctx.cloud
        .list_versions(function)
        .await?
        .iter()
        .filter(|v| record(&v.description).is_some_and(|r| r.digest == digest))
        .filter_map(|v| v.version.parse().ok())
        .max()
        .map(Target::Version)
        .with_context(|| {
            format!(
                "no version in {} runs {digest}: put this region back with --region and --to",
                ctx.config.project.region
            )
        })
}

/// Takes the image green serves in environment `source` into a folder of its own, as
/// `deploy --image` reads it.
async fn take(global: &flags::Global, source: &str) -> Result<std::path::PathBuf> {
    if global.env.as_deref() == Some(source) {
        anyhow::bail!("--from {source} names the environment being deployed: name another");
    }
    let config = places::source(source)?;
    let region = config.project.region.clone();
    eprintln!("==> take the image green serves in {source} ({region})");
    let ctx = connect(global, config).await?;
    let dir = setup::target_dir().join("promoted");
    let built = pipeline::promotion::take(&ctx, &dir).await?;
    let origin = built
        .origin
        .as_ref()
        .expect("a promoted image has its origin");
    eprintln!(
        "    {source} version {} is {} (git {}), verified there",
        origin.version,
        origin.digest,
        ledger::short(&built.facts.git_sha)
    );
    Ok(dir)
}

/// One environment's green in one region, as `status --environments` shows it.
#[derive(Serialize)]
struct Row {
    environment: String,
    region: String,
    account: String,
    version: Option<String>,
    digest: Option<String>,
    git_sha: Option<String>,
    /// Where its image was promoted from, when it was.
    origin: Option<Origin>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
struct Table {
    environments: Vec<Row>,
    /// Every region of every environment serves one image.
    same_image: bool,
}

impl flags::Status {
    pub async fn run_everywhere(self, global: &flags::Global) -> Result<()> {
        if !self.environments {
            return places::in_each(global, OnFailure::CarryOn, async |config| {
                self.run(global, config).await
            })
            .await;
        }
        let config = Config::load()?;
        let mut rows = Vec::new();
        for name in config.environments.keys() {
            for region in config.regions_of(name)? {
                let placed = config.in_environment(name, &region)?;
                rows.push(row(global, placed).await);
            }
        }
        anyhow::ensure!(
            !rows.is_empty(),
            "deploy.toml defines no [environments] (see the README's \"Staging and production\")"
        );
        let digests: std::collections::BTreeSet<_> = rows.iter().map(|r| &r.digest).collect();
        let table = Table {
            same_image: digests.len() == 1 && rows.iter().all(|r| r.digest.is_some()),
            environments: rows,
        };
        print(&table, global.json)
    }
}

async fn row(global: &flags::Global, config: Config) -> Row {
    let placement = config.placement.clone().expect("an environment's region");
    let mut row = Row {
        environment: placement.environment,
        region: placement.region,
        account: placement.account,
        version: None,
        digest: None,
        git_sha: None,
        origin: None,
        error: None,
    };
    let read = async {
        let ctx = connect(global, config).await?;
        let alias = ctx.cloud.get_alias(ctx.function(), GREEN).await?;
        let version = ctx
            .cloud
            .get_version(ctx.function(), &alias.target.version)
            .await?;
        anyhow::Ok((
            alias.target.version,
            VersionRecord::parse(&version.description).ok(),
        ))
    };
    match read.await.context("reading green") {
        Ok((version, record)) => {
            row.version = Some(version);
            if let Some(record) = record {
                row.digest = Some(record.digest);
                row.git_sha = Some(record.git_sha);
                row.origin = record.origin;
            }
        }
        Err(e) => row.error = Some(format!("{e:#}")),
    }
    row
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{:<14} {:<16} {:<13} {:<6} {:<20} {:<13} FROM",
            "ENVIRONMENT", "REGION", "ACCOUNT", "GREEN", "IMAGE", "BUILD"
        )?;
        let first = self.environments.first().and_then(|r| r.digest.as_deref());
        for r in &self.environments {
            let image = r.digest.as_deref().map_or("-".into(), |d| {
                let mark = if Some(d) == first { "" } else { " *" };
                format!("{}{mark}", &d[..d.len().min(19)])
            });
            let from = r
                .origin
                .as_ref()
                .map_or("-".into(), |o| format!("{} v{}", o.environment, o.version));
            writeln!(
                f,
                "{:<14} {:<16} {:<13} {:<6} {:<20} {:<13} {from}",
                r.environment,
                r.region,
                r.account,
                r.version.as_deref().unwrap_or("-"),
                image,
                r.git_sha.as_deref().map_or("-", ledger::short),
            )?;
            if let Some(error) = &r.error {
                writeln!(f, "    {error}")?;
            }
        }
        if self.same_image {
            writeln!(f, "every environment and region serves one image")
        } else {
            writeln!(f, "* serves another image than the first row")
        }
    }
}
