//! The app as an OCI image Lambda accepts: one gzip layer holding `/bootstrap` (mode 0755,
//! Lambda runs images as a non-root user) and a CA bundle (the image has no base), every
//! parent directory as its own tar entry (`MissingParentDirectory` otherwise), a `history`
//! entry, entrypoint `/bootstrap`. Deterministic: sorted entries, fixed mtime/uid/gid, no gzip
//! timestamp, sorted JSON keys, a CA bundle from a crate rather than the host; so the same
//! binary gives the same manifest digest on any machine.
mod docker;
mod native;
mod registry;

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::facts::hex_of;

pub use docker::build_image as build_image_in_docker;
pub use native::{
    Binary, Built, Checkout, assemble_image, build_bootstrap, build_image, build_release,
};
pub use registry::{Pull, Registry};

pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
const LAYER_MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// Where scratch-based Rust images conventionally carry the CA bundle (rustls-native-certs
/// and OpenSSL both look here).
const CA_BUNDLE_PATH: &str = "etc/ssl/certs/ca-certificates.crt";

/// Lambda's architecture names and the image platforms (OCI `architecture`) they run.
const PLATFORMS: [(&str, &str); 2] = [("x86_64", "amd64"), ("arm64", "arm64")];

/// Refuses a deploy.toml architecture other than the one an existing function runs on
/// (`Architectures` of its `$LATEST`): the image would be built for one machine and run on the
/// other. Pure, so provision and deploy call it on what they read before writing anything.
pub(crate) fn check_architecture(configured: &str, function: &str) -> Result<()> {
    crate::setup::musl_target(configured)?;
    if function != configured {
        bail!(
            "the function runs on {function} but deploy.toml [function] architecture = {configured:?}: set architecture = {function:?} there, or move the function to {configured} with `cargo xtask deploy --switch-architecture` (its versions keep theirs, so rollback still works)"
        );
    }
    Ok(())
}

/// The image's CA bundle, as PEM: Mozilla's roots shipped by the `webpki-root-certs` crate, whose
/// version Cargo.lock pins. Never the building machine's bundle: that differs between hosts
/// (and macOS has none at this path), and with it the digest of one commit.
pub fn ca_bundle() -> Vec<u8> {
    use base64::Engine;
    let mut pem = String::new();
    for root in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        let encoded = base64::engine::general_purpose::STANDARD.encode(root);
        // RFC 7468: base64 lines of 64 characters (ASCII, so any split is a char boundary).
        for line in encoded.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    pem.into_bytes()
}

/// An image's three blobs, exactly as pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub manifest: Vec<u8>,
    pub config: Vec<u8>,
    pub layer: Vec<u8>,
}

/// The files of the image's one layer.
pub struct Contents<'a> {
    pub bootstrap: &'a [u8],
    pub ca_bundle: &'a [u8],
}

impl Image {
    /// Builds the image from its files. `architecture` is the Lambda name (`x86_64`/`arm64`);
    /// `created` (RFC 3339) and `mtime` (seconds) come from the commit, never the clock.
    pub fn assemble(
        contents: &Contents,
        architecture: &str,
        created: &str,
        mtime: u64,
    ) -> Result<Self> {
        let tar = layer_tar(contents, mtime)?;
        let diff_id = sha256_digest(&tar);
        let layer = gzip(&tar)?;
        let Some((_, platform)) = PLATFORMS.iter().find(|(lambda, _)| *lambda == architecture)
        else {
            bail!("no image platform for architecture {architecture:?}");
        };
        let config = canonical(json!({
            "architecture": platform,
            "os": "linux",
            "created": created,
            "config": {
                "Entrypoint": ["/bootstrap"],
                "Env": ["PATH=/usr/local/bin:/usr/bin:/bin", format!("SSL_CERT_FILE=/{CA_BUNDLE_PATH}")],
                "WorkingDir": "/",
            },
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [{"created": created, "created_by": "cargo xtask build"}],
        }))?;
        let manifest = canonical(json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "config": descriptor(CONFIG_MEDIA_TYPE, &config),
            "layers": [descriptor(LAYER_MEDIA_TYPE, &layer)],
        }))?;
        Ok(Self {
            manifest,
            config,
            layer,
        })
    }

    /// The image a conformance case pushes where it needs one in a repository
    /// (`bgd_rules::conformance::Given::Image`): the smallest one `assemble` builds, a
    /// `/bootstrap` that only names itself, the same bytes (and digest) in every model and run.
    pub fn conformance() -> Result<Self> {
        let contents = Contents {
            bootstrap: b"#!/bin/sh\necho conformance\n",
            ca_bundle: b"",
        };
        Self::assemble(&contents, "x86_64", "2026-01-01T00:00:00Z", 1_767_225_600)
    }

    /// The Lambda architecture it was built for, from its config's platform.
    pub fn architecture(&self) -> Result<&'static str> {
        let config: Value = serde_json::from_slice(&self.config).context("parsing the config")?;
        let platform = config["architecture"].as_str().unwrap_or_default();
        PLATFORMS
            .iter()
            .find(|(_, p)| *p == platform)
            .map(|(lambda, _)| *lambda)
            .with_context(|| format!("the image is for {platform:?}, which Lambda does not run"))
    }

    /// `sha256:HEX` of the manifest: what ECR reports and what the function is deployed by.
    pub fn digest(&self) -> String {
        sha256_digest(&self.manifest)
    }

    /// Writes an OCI image layout (`skopeo inspect oci:DIR` reads it), replacing what was there.
    pub fn write_layout(&self, dir: &Path) -> Result<()> {
        let blobs = dir.join("blobs/sha256");
        if blobs.exists() {
            std::fs::remove_dir_all(&blobs)
                .with_context(|| format!("clearing {}", blobs.display()))?;
        }
        std::fs::create_dir_all(&blobs).with_context(|| format!("creating {}", blobs.display()))?;
        for blob in [&self.manifest, &self.config, &self.layer] {
            std::fs::write(blobs.join(hex_of(&sha256_digest(blob))), blob)?;
        }
        std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        // The ref name lets `umoci unpack --image DIR:latest` and `skopeo` address it.
        let mut manifest = descriptor(MANIFEST_MEDIA_TYPE, &self.manifest);
        manifest["annotations"] = json!({"org.opencontainers.image.ref.name": "latest"});
        let index = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [manifest],
        });
        std::fs::write(dir.join("index.json"), serde_json::to_vec(&index)?)?;
        Ok(())
    }

    /// Reads an image written by [`Image::write_layout`] (`deploy --image DIR`), checking every
    /// blob against its digest.
    pub(crate) fn read_layout(dir: &Path) -> Result<Self> {
        let read_index = || -> Result<Value> {
            Ok(serde_json::from_slice(&std::fs::read(
                dir.join("index.json"),
            )?)?)
        };
        let index = read_index().with_context(|| {
            format!(
                "{} holds no image: build one with `cargo xtask build`",
                dir.display()
            )
        })?;
        let blob = |digest: &Value| -> Result<Vec<u8>> {
            let digest = digest.as_str().context("a descriptor without a digest")?;
            let bytes = std::fs::read(dir.join("blobs/sha256").join(hex_of(digest)))
                .with_context(|| format!("reading blob {digest}"))?;
            if sha256_digest(&bytes) != digest {
                bail!(
                    "blob {digest} in {} is corrupt: rebuild with `cargo xtask build`",
                    dir.display()
                );
            }
            Ok(bytes)
        };
        let manifests = index["manifests"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let [entry] = manifests else {
            bail!(
                "{} must hold exactly one manifest (Lambda takes single-platform images)",
                dir.display()
            );
        };
        let manifest = blob(&entry["digest"])?;
        let parsed: Value = serde_json::from_slice(&manifest)?;
        let config = blob(&parsed["config"]["digest"])?;
        let layers = parsed["layers"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let [layer] = layers else {
            bail!("the image in {} must have exactly one layer", dir.display());
        };
        Ok(Self {
            manifest,
            config,
            layer: blob(&layer["digest"])?,
        })
    }
}

impl Image {
    /// The size of `/bootstrap` in the layer, whichever builder wrote it.
    pub fn bootstrap_bytes(&self) -> Result<u64> {
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(self.layer.as_slice()));
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
        bail!(
            "the image has no /bootstrap (with --builder docker: check the Dockerfile's final stage)"
        )
    }
}

fn layer_tar(contents: &Contents, mtime: u64) -> Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut append = |path: &str, mode: u32, data: Option<&[u8]>| -> Result<()> {
        let mut header = tar::Header::new_ustar();
        header.set_mode(mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(mtime);
        match data {
            Some(data) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(data.len() as u64);
                tar.append_data(&mut header, path, data)?;
            }
            None => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                tar.append_data(&mut header, path, std::io::empty())?;
            }
        }
        Ok(())
    };
    // Sorted by path; every parent directory precedes its files.
    append("bootstrap", 0o755, Some(contents.bootstrap))?;
    append("etc/", 0o755, None)?;
    append("etc/ssl/", 0o755, None)?;
    append("etc/ssl/certs/", 0o755, None)?;
    append(CA_BUNDLE_PATH, 0o644, Some(contents.ca_bundle))?;
    Ok(tar.into_inner()?)
}

fn gzip(data: &[u8]) -> Result<Vec<u8>> {
    use std::io::Write;
    // GzBuilder writes mtime 0 and no file name unless told otherwise.
    let mut encoder = flate2::GzBuilder::new().write(Vec::new(), flate2::Compression::best());
    encoder.write_all(data)?;
    Ok(encoder.finish()?)
}

/// A blob's JSON with every object's keys sorted: serde_json writes them in insertion order
/// when any crate in the build turns on its `preserve_order` feature (a test build does, through
/// a dev-dependency), sorted otherwise, and the digest must not depend on which build ran.
fn canonical(mut value: Value) -> Result<Vec<u8>> {
    value.sort_all_objects();
    Ok(serde_json::to_vec(&value)?)
}

fn descriptor(media_type: &str, blob: &[u8]) -> Value {
    json!({"mediaType": media_type, "digest": sha256_digest(blob), "size": blob.len()})
}

/// Where `build` and a deploy that builds write the image.
pub fn default_image_dir() -> std::path::PathBuf {
    crate::setup::target_dir().join("image")
}

pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

#[cfg(test)]
mod tests;
