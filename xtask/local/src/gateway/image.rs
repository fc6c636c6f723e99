//! A version's image, from the registry to a root filesystem on disk: pulled by digest, every
//! layer applied in order (whiteouts included), as Lambda runs a container image
//! (<https://docs.aws.amazon.com/lambda/latest/dg/images-create.html>), and cached by manifest
//! digest under the state dir.
mod unpack;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use self::unpack::unpack;
use local_gateway::Unpacked;
use oci_client::{
    Client, Reference,
    client::{ClientConfig, ClientProtocol},
    secrets::RegistryAuth,
};

use bgd_core::cloud::{ImageRef, RegistryAccess};

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

    /// `image` unpacked, pulled from `access` on first use.
    pub(crate) async fn unpacked(
        &self,
        image: &ImageRef,
        access: &RegistryAccess,
    ) -> Result<Unpacked> {
        let dir = self.dir.join(image.digest_hex());
        let (rootfs, config) = (dir.join("rootfs"), dir.join("config.json"));
        if rootfs.exists() {
            return read_config(rootfs, &config);
        }
        let _pulling = self.pulling.lock().await;
        if rootfs.exists() {
            return read_config(rootfs, &config);
        }
        let reference: Reference = access
            .reference(image)
            .parse()
            .with_context(|| format!("{} is not an image reference", access.reference(image)))?;
        bgd_tls::install();
        let client = Client::new(ClientConfig {
            protocol: if access.plain_http {
                ClientProtocol::Http
            } else {
                ClientProtocol::Https
            },
            ..ClientConfig::default()
        });
        let auth = match &access.basic {
            Some((user, password)) => {
                RegistryAuth::Basic(user.clone(), password.expose().to_owned())
            }
            None => RegistryAuth::Anonymous,
        };
        let (manifest, _, image_config) = client
            .pull_manifest_and_config(&reference, &auth)
            .await
            .with_context(|| format!("pulling the manifest of {reference}"))?;
        let mut layers = Vec::new();
        for layer in &manifest.layers {
            let mut blob = Vec::new();
            client
                .pull_blob(&reference, layer, &mut blob)
                .await
                .with_context(|| format!("pulling layer {} of {reference}", layer.digest))?;
            layers.push(blob);
        }
        let target = rootfs.clone();
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            std::fs::write(&config, image_config)?;
            // Unpacked beside, then renamed: a rootfs that exists is whole.
            let partial = dir.join("rootfs.partial");
            if partial.exists() {
                std::fs::remove_dir_all(&partial)?;
            }
            unpack(&layers, &partial)?;
            std::fs::rename(&partial, &target)
                .with_context(|| format!("writing {}", target.display()))?;
            read_config(target, &config)
        })
        .await
        .context("unpacking the image")?
    }
}

/// The run config of the image config at `config`, for the rootfs at `rootfs`.
fn read_config(rootfs: PathBuf, config: &Path) -> Result<Unpacked> {
    let text =
        std::fs::read_to_string(config).with_context(|| format!("reading {}", config.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", config.display()))?;
    let run = &value["config"];
    let strings = |key: &str| -> Vec<String> {
        run[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect()
    };
    let mut command = strings("Entrypoint");
    command.extend(strings("Cmd"));
    if command.is_empty() {
        bail!("the image config has neither Entrypoint nor Cmd: Lambda cannot run it");
    }
    let env = strings("Env")
        .into_iter()
        .filter_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            Some((name.to_owned(), value.to_owned()))
        })
        .collect();
    let workdir = match run["WorkingDir"].as_str() {
        Some(dir) if !dir.is_empty() => dir.to_owned(),
        _ => "/".to_owned(),
    };
    Ok(Unpacked {
        rootfs,
        command,
        workdir,
        env,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entrypoint_cmd_workdir_and_env_come_from_the_image_config() {
        let dir = std::env::temp_dir().join(format!("bgd-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("config.json");
        std::fs::write(
            &config,
            r#"{"config":{"Entrypoint":["/bin/run"],"Cmd":["handler.main"],"WorkingDir":"/var/task","Env":["A=1","B=x=y"]}}"#,
        )
        .unwrap();
        let unpacked = read_config(dir.join("rootfs"), &config).unwrap();
        assert_eq!(unpacked.command, ["/bin/run", "handler.main"]);
        assert_eq!(unpacked.workdir, "/var/task");
        assert_eq!(
            unpacked.env,
            [("A".into(), "1".into()), ("B".into(), "x=y".into())]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
