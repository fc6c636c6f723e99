//! Where a verb runs: deploy.toml as written, or with `--env NAME` that environment in each of
//! its regions, in deploy.toml's order (or the one `--region` names). Each region is one
//! ordinary run of the verb on deploy.toml as the environment sees it there; with several,
//! each prints its own result (`--json`: one document per region, each naming its
//! environment and region) and the run ends with every region's green stated.
use anyhow::{Context, Result, bail};

use crate::{flags, output, verbs};
use bgd_core::{config::Config, outcome::Green, pipeline::statement};

/// The configs a verb runs on, in order.
pub(crate) fn configs(global: &flags::Global) -> Result<Vec<Config>> {
    let config = Config::load()?;
    let Some(name) = &global.env else {
        if !config.environments.is_empty() {
            let names: Vec<&str> = config.environments.keys().map(String::as_str).collect();
            bail!(
                "deploy.toml defines environments ({}): name one with --env",
                names.join(", ")
            );
        }
        return Ok(vec![config]);
    };
    let regions = config.regions_of(name)?;
    let chosen = match &global.region {
        Some(region) if !regions.contains(region) => bail!(
            "--region {region}: environment {name} is in {} only",
            regions.join(", ")
        ),
        Some(region) => vec![region.clone()],
        None => regions,
    };
    chosen
        .iter()
        .map(|region| config.in_environment(name, region))
        .collect()
}

/// What a failure in one region does to the regions after it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnFailure {
    /// Stop: a deploy that failed in one region goes no further (its green stated, and every
    /// other region's).
    Stop,
    /// Carry on: a rollback puts every region back it can, a read reads every region.
    CarryOn,
}

/// Runs `verb` on each config in order; the first failure's error (and exit code) is the run's.
pub(crate) async fn each(
    global: &flags::Global,
    configs: Vec<Config>,
    on_failure: OnFailure,
    mut verb: impl AsyncFnMut(Config) -> Result<()>,
) -> Result<()> {
    if configs.len() == 1 {
        let config = configs.into_iter().next().expect("one config");
        output::place(config.placement.clone());
        return verb(config).await;
    }
    let mut first_error = None;
    let mut ended = Vec::new();
    for config in &configs {
        let placement = config.placement.as_ref().expect("an environment's region");
        if first_error.is_some() && on_failure == OnFailure::Stop {
            ended.push("not attempted");
            continue;
        }
        eprintln!(
            "==> environment {} in {} (account {})",
            placement.environment, placement.region, placement.account
        );
        output::place(Some(placement.clone()));
        match verb(config.clone()).await {
            Ok(()) => ended.push("done"),
            Err(error) => {
                ended.push("failed");
                let region = &placement.region;
                first_error.get_or_insert(error.context(format!("in {region}")));
            }
        }
    }
    output::place(None);
    eprintln!("==> every region's green:");
    for (config, ended) in configs.into_iter().zip(ended) {
        let region = config.placement.as_ref().map(|p| p.region.clone());
        let green = match green_in(global, config).await {
            Ok(green) => green.serving().to_string(),
            Err(e) => format!("green could not be read ({e:#})"),
        };
        eprintln!("    {}: {ended}; {green}", region.unwrap_or_default());
    }
    first_error.map_or(Ok(()), Err)
}

/// What green serves in `config`'s region, read now.
async fn green_in(global: &flags::Global, config: Config) -> Result<Green> {
    let ctx = verbs::connect(global, config).await?;
    let served = statement::read_green(&ctx).await;
    let now = served.clone().ok().flatten().map(|s| s.target);
    Ok(Green::judge(now, served, &Default::default()))
}

/// The config of environment `name` in its first region: where `deploy --from` reads.
pub(crate) fn source(name: &str) -> Result<Config> {
    let config = Config::load()?;
    let region = config
        .regions_of(name)
        .with_context(|| format!("--from {name}"))?
        .into_iter()
        .next()
        .expect("an environment has a region");
    config.in_environment(name, &region)
}

/// [`each`] over the configs `global` names.
pub(crate) async fn in_each(
    global: &flags::Global,
    on_failure: OnFailure,
    verb: impl AsyncFnMut(Config) -> Result<()>,
) -> Result<()> {
    each(global, configs(global)?, on_failure, verb).await
}
