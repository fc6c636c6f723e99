//! A version's image, from the registry to a runnable file: pulled by digest, its entrypoint
//! extracted from the layers once and cached by digest under the state dir.
use std::{
    io::Read,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result, bail};
use oci_client::{
    Client, Reference,
    client::{ClientConfig, ClientProtocol},
    secrets::RegistryAuth,
};

use crate::cloud::{ImageRef, RegistryAccess};

/// Lambda's default entrypoint for images built `FROM scratch` with a `bootstrap`.
const DEFAULT_ENTRYPOINT: &str = "/bootstrap";

pub(crate) struct Images {
    dir: PathBuf,
    /// One pull at a time: concurrent cold starts of one version wait for the first pull
    /// instead of each fetching the same layers.
    pulling: tokio::sync::Mutex<()>,
}

impl Images {
    pub(crate) fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            pulling: tokio::sync::Mutex::new(()),
        }
    }

    /// The entrypoint binary of `image`, pulled from `access` on first use.
    pub(crate) async fn entrypoint(
        &self,
        image: &ImageRef,
        access: &RegistryAccess,
    ) -> Result<PathBuf> {
        let path = self.dir.join(image.digest_hex()).join("entrypoint");
        if path.exists() {
            return Ok(path);
        }
        let _pulling = self.pulling.lock().await;
        if path.exists() {
            return Ok(path);
        }
        let reference: Reference = access
            .reference(image)
            .parse()
            .with_context(|| format!("{} is not an image reference", access.reference(image)))?;
        let client = Client::new(ClientConfig {
            protocol: if access.plain_http {
                ClientProtocol::Http
            } else {
                ClientProtocol::Https
            },
            ..ClientConfig::default()
        });
        let auth = match &access.basic {
            Some((user, password)) => RegistryAuth::Basic(user.clone(), password.clone()),
            None => RegistryAuth::Anonymous,
        };
        let (manifest, _, config) = client
            .pull_manifest_and_config(&reference, &auth)
            .await
            .with_context(|| format!("pulling the manifest of {reference}"))?;
        let entrypoint = entrypoint_of(&config);
        let mut layers = Vec::new();
        for layer in &manifest.layers {
            let mut blob = Vec::new();
            client
                .pull_blob(&reference, layer, &mut blob)
                .await
                .with_context(|| format!("pulling layer {} of {reference}", layer.digest))?;
            layers.push(blob);
        }
        let target = path.clone();
        tokio::task::spawn_blocking(move || extract(&layers, &entrypoint, &target))
            .await
            .context("extracting the entrypoint")??;
        Ok(path)
    }
}

/// The first element of the image config's `Entrypoint`, or Lambda's default.
fn entrypoint_of(config: &str) -> String {
    serde_json::from_str::<serde_json::Value>(config)
        .ok()
        .and_then(|c| c["config"]["Entrypoint"][0].as_str().map(str::to_owned))
        .unwrap_or_else(|| DEFAULT_ENTRYPOINT.to_owned())
}

/// Writes the last layer's copy of `entrypoint` to `target`, executable.
fn extract(layers: &[Vec<u8>], entrypoint: &str, target: &Path) -> Result<()> {
    let wanted = entrypoint.trim_start_matches('/');
    let mut found = None;
    for layer in layers {
        // Layers are gzip tars (Lambda rejects others); an uncompressed tar is read as is.
        let reader: Box<dyn Read> = if layer.starts_with(&[0x1f, 0x8b]) {
            Box::new(flate2::read::GzDecoder::new(layer.as_slice()))
        } else {
            Box::new(layer.as_slice())
        };
        let mut archive = tar::Archive::new(reader);
        for entry in archive.entries().context("reading a layer")? {
            let mut entry = entry.context("reading a layer entry")?;
            let path = entry
                .path()?
                .to_string_lossy()
                .trim_start_matches("./")
                .to_owned();
            if path == wanted && entry.header().entry_type().is_file() {
                let mut bytes = Vec::new();
                entry.read_to_end(&mut bytes)?;
                found = Some(bytes);
            }
        }
    }
    let Some(bytes) = found else {
        bail!("the image has no file {entrypoint} (its entrypoint)");
    };
    let dir = target.parent().context("the cache path has a parent")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let partial = target.with_extension("partial");
    std::fs::write(&partial, bytes)?;
    std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o755))?;
    std::fs::rename(&partial, target).with_context(|| format!("writing {}", target.display()))
}
