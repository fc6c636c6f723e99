//! `build --builder docker`: the Dockerfile's image, exported as the same OCI layout the
//! native builder writes, so `deploy --image DIR` takes either.
use std::path::Path;

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use super::{Built, Image};
use crate::facts::BuildFacts;
use crate::{config::Config, setup};

pub fn build_image(
    sh: &Shell,
    config: &Config,
    build_id: Option<String>,
    out: &Path,
) -> Result<(Built, Image)> {
    let architecture = &config.function.architecture;
    let target = setup::musl_target(architecture)?;
    let platform = if architecture == "arm64" {
        "linux/arm64"
    } else {
        "linux/amd64"
    };
    if cmd!(sh, "docker info")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run()
        .is_err()
    {
        bail!(
            "no Docker daemon answers (`docker info` failed): start Docker, or drop --builder docker to build natively"
        );
    }
    let root = setup::workspace_root();
    let facts = BuildFacts::from_git(sh, root, build_id)?;
    let args = [
        format!("TARGET={target}"),
        format!("PACKAGE={}", config.app.package),
        format!("BINARY={}", config.app.binary),
        format!("APP_GIT_SHA={}", facts.git_sha),
        format!("APP_GIT_DIRTY={}", facts.dirty),
        format!("APP_BUILT_AT={}", facts.built_at),
        format!(
            "APP_BUILD_ID={}",
            facts.build_id.as_deref().unwrap_or_default()
        ),
        // BuildKit stamps files and the config with it, as the native builder stamps the commit time.
        format!("SOURCE_DATE_EPOCH={}", facts.commit_epoch),
    ]
    .into_iter()
    .flat_map(|arg| ["--build-arg".to_string(), arg]);
    let output = format!("type=oci,dest={},tar=false", out.display());
    eprintln!(
        "build: docker buildx build for {platform} into {}",
        out.display()
    );
    // Single-platform and without provenance: Lambda rejects image indexes with attestations.
    cmd!(
        sh,
        "docker buildx build --provenance=false --platform {platform} {args...} --output {output} {root}"
    )
    .run()
    .context("docker buildx build (the errors above say where)")?;
    let image = Image::read_layout(out)?;
    let built = Built::record(out, &image, facts)?;
    Ok((built, image))
}
