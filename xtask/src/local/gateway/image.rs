//! A version's image, from the registry to a root filesystem on disk: pulled by digest, every
//! layer applied in order (whiteouts included), as Lambda runs a container image
//! (<https://docs.aws.amazon.com/lambda/latest/dg/images-create.html>), and cached by manifest
//! digest under the state dir.
use std::{
    io::Read,
    path::{Component, Path, PathBuf},
};

use anyhow::{Context, Result, bail};
use local_gateway::Unpacked;
use oci_client::{
    Client, Reference,
    client::{ClientConfig, ClientProtocol},
    secrets::RegistryAuth,
};

use crate::cloud::{ImageRef, RegistryAccess};

/// The OCI whiteout prefix: `dir/.wh.NAME` deletes `dir/NAME` of the layers below
/// (<https://github.com/opencontainers/image-spec/blob/main/layer.md#whiteouts>).
const WHITEOUT: &str = ".wh.";
/// `dir/.wh..wh..opq` hides everything the layers below put in `dir`.
const OPAQUE: &str = ".wh..wh..opq";
/// Mount points the sandbox needs, which images built `FROM scratch` lack.
const MOUNT_POINTS: [&str; 3] = ["tmp", "proc", "dev"];

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
        crate::tls::install();
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

/// Applies `layers` (gzip or plain tars), lowest first, to an empty `rootfs`.
fn unpack(layers: &[Vec<u8>], rootfs: &Path) -> Result<()> {
    std::fs::create_dir_all(rootfs).with_context(|| format!("creating {}", rootfs.display()))?;
    for (index, layer) in layers.iter().enumerate() {
        apply(layer, rootfs).with_context(|| format!("applying layer {index}"))?;
    }
    for dir in MOUNT_POINTS {
        let path = rootfs.join(dir);
        if std::fs::symlink_metadata(&path).is_err() {
            std::fs::create_dir(&path)?;
        }
    }
    Ok(())
}

fn entries(layer: &[u8]) -> tar::Archive<Box<dyn Read + '_>> {
    // Layers are gzip tars (Lambda rejects others); an uncompressed tar is read as is.
    let reader: Box<dyn Read> = if layer.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::GzDecoder::new(layer))
    } else {
        Box::new(layer)
    };
    tar::Archive::new(reader)
}

/// One layer: its whiteouts first (they hide only what the layers below put there), then its
/// entries.
fn apply(layer: &[u8], rootfs: &Path) -> Result<()> {
    let mut whited_out = Vec::new();
    for entry in entries(layer).entries().context("reading a layer")? {
        let entry = entry.context("reading a layer entry")?;
        let path = relative(&entry.path()?)?;
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let parent = rootfs.join(path.parent().unwrap_or(Path::new("")));
        if name == OPAQUE {
            if let Ok(children) = std::fs::read_dir(&parent) {
                for child in children {
                    whited_out.push(child?.path());
                }
            }
        } else if let Some(hidden) = name.strip_prefix(WHITEOUT) {
            whited_out.push(parent.join(hidden));
        }
    }
    for path in whited_out {
        remove(&path)?;
    }
    let mut archive = entries(layer);
    archive.set_preserve_permissions(true);
    archive.set_unpack_xattrs(false);
    for entry in archive.entries().context("reading a layer")? {
        let mut entry = entry.context("reading a layer entry")?;
        let path = relative(&entry.path()?)?;
        let whiteout = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(WHITEOUT));
        if whiteout || path.as_os_str().is_empty() {
            continue;
        }
        // A file may replace a directory of a lower layer, and the other way round.
        let target = rootfs.join(&path);
        let is_dir = entry.header().entry_type().is_dir();
        if let Ok(existing) = std::fs::symlink_metadata(&target)
            && (existing.is_dir() != is_dir || existing.is_symlink())
        {
            remove(&target)?;
        }
        entry
            .unpack_in(rootfs)
            .with_context(|| format!("unpacking {}", path.display()))?;
    }
    Ok(())
}

/// A layer path relative to the rootfs; `..` is refused (it would write outside it).
fn relative(path: &Path) -> Result<PathBuf> {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::Normal(name) => out.push(name),
            Component::CurDir | Component::RootDir => {}
            _ => bail!(
                "the layer entry {} leaves the root filesystem",
                path.display()
            ),
        }
    }
    Ok(out)
}

fn remove(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(_) => return Ok(()),
    }
    .with_context(|| format!("removing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plain tar of `(path, Some(contents))` files and `(path, None)` directories.
    fn layer(entries: &[(&str, Option<&str>)]) -> Vec<u8> {
        let mut tar = tar::Builder::new(Vec::new());
        for (path, contents) in entries {
            let mut header = tar::Header::new_ustar();
            match contents {
                Some(text) => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_mode(0o644);
                    header.set_size(text.len() as u64);
                    tar.append_data(&mut header, path, text.as_bytes()).unwrap();
                }
                None => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_mode(0o755);
                    header.set_size(0);
                    tar.append_data(&mut header, path, std::io::empty())
                        .unwrap();
                }
            }
        }
        tar.into_inner().unwrap()
    }

    fn tree(root: &Path) -> Vec<String> {
        let mut found = Vec::new();
        let mut stack = vec![root.to_owned()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let name = path.strip_prefix(root).unwrap().display().to_string();
                if path.is_dir() {
                    stack.push(path);
                    found.push(format!("{name}/"));
                } else {
                    found.push(format!(
                        "{name}={}",
                        std::fs::read_to_string(&path).unwrap()
                    ));
                }
            }
        }
        found.sort();
        found
    }

    #[test]
    fn layers_apply_in_order_with_whiteouts_and_opaque_directories() {
        let lower = layer(&[
            ("etc/", None),
            ("etc/app.conf", Some("old")),
            ("etc/gone.conf", Some("x")),
            ("var/", None),
            ("var/cache/", None),
            ("var/cache/a", Some("a")),
            ("bootstrap", Some("v1")),
        ]);
        let upper = layer(&[
            ("etc/.wh.gone.conf", Some("")),
            ("etc/app.conf", Some("new")),
            ("var/cache/b", Some("b")),
            ("var/cache/.wh..wh..opq", Some("")),
            ("bootstrap", Some("v2")),
        ]);
        let dir = std::env::temp_dir().join(format!("bgd-unpack-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        unpack(&[lower, upper], &dir).unwrap();
        assert_eq!(
            tree(&dir),
            [
                "bootstrap=v2",
                "dev/",
                "etc/",
                "etc/app.conf=new",
                "proc/",
                "tmp/",
                "var/",
                "var/cache/",
                // The opaque marker hides the lower layer's `a`, not its own layer's `b`.
                "var/cache/b=b",
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_entry_that_climbs_out_of_the_rootfs_is_refused() {
        let dir = std::env::temp_dir().join(format!("bgd-climb-{}", std::process::id()));
        let mut tar = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(1);
        header.set_mode(0o644);
        // `append_data` refuses `..`; a hostile layer writes the name itself.
        header.as_gnu_mut().unwrap().name[..9].copy_from_slice(b"../escape");
        header.set_cksum();
        tar.append(&header, &b"x"[..]).unwrap();
        let error = unpack(&[tar.into_inner().unwrap()], &dir).unwrap_err();
        assert!(
            format!("{error:#}").contains("leaves the root filesystem"),
            "{error:#}"
        );
        assert!(!dir.parent().unwrap().join("escape").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

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
