//! `build --builder docker`: the Dockerfile's image, exported as the same OCI layout the
//! native builder writes, so `deploy --image DIR` takes either.
use std::path::Path;

use anyhow::{Context, Result, bail};
use flate2::read::GzDecoder;
use xshell::{Shell, cmd};

use super::{BuildFacts, Built, Image};
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
    let facts = BuildFacts::from_git(sh, build_id)?;
    let root = setup::workspace_root();
    let args = [
        format!("TARGET={target}"),
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
    let bootstrap_bytes = bootstrap_size(&image.layer)?;
    let built = Built::record(out, &image, bootstrap_bytes, facts)?;
    Ok((built, image))
}

/// The size of `/bootstrap` in the image's layer, reported as the native build reports it.
fn bootstrap_size(layer: &[u8]) -> Result<u64> {
    let mut archive = tar::Archive::new(GzDecoder::new(layer));
    for entry in archive.entries()? {
        let entry = entry?;
        if entry
            .path()?
            .to_str()
            .is_some_and(|p| p.trim_start_matches("./") == "bootstrap")
        {
            return Ok(entry.size());
        }
    }
    bail!("the Dockerfile's image has no /bootstrap: check its final stage")
}

#[cfg(test)]
mod tests {
    use super::bootstrap_size;

    #[test]
    fn the_bootstrap_size_is_read_from_the_layer() {
        let mut tar = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(3);
        header.set_mode(0o755);
        tar.append_data(&mut header, "bootstrap", &b"abc"[..])
            .unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar.into_inner().unwrap()).unwrap();
        assert_eq!(bootstrap_size(&gz.finish().unwrap()).unwrap(), 3);
        assert!(
            bootstrap_size(
                &flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast())
                    .finish()
                    .unwrap()
            )
            .is_err()
        );
    }
}
