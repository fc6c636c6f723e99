//! The image's layout: deterministic bytes, the entries Lambda needs, the digest it gets.
use super::*;

fn image(bootstrap: &[u8]) -> Image {
    let contents = Contents {
        bootstrap,
        ca_bundle: b"-----BEGIN CERTIFICATE-----\n",
    };
    Image::assemble(&contents, "x86_64", "2026-01-02T03:04:05Z", 1_767_323_045).unwrap()
}

#[test]
fn the_json_blobs_have_sorted_keys_whatever_features_cargo_unified() {
    // This test build has serde_json's `preserve_order` (aws-smithy-mocks, a dev-dependency,
    // turns it on) and `cargo xtask build` has not: the bytes must not follow the map type.
    let image = image(b"bootstrap");
    let in_order = |blob: &[u8], keys: &[&str]| {
        let text = std::str::from_utf8(blob).unwrap();
        let at: Vec<usize> = keys
            .iter()
            .map(|key| text.find(&format!("\"{key}\":")).unwrap())
            .collect();
        assert!(at.is_sorted(), "{keys:?} at {at:?} in {text}");
    };
    in_order(
        &image.config,
        &[
            "architecture",
            "config",
            "created",
            "history",
            "os",
            "rootfs",
        ],
    );
    in_order(
        &image.manifest,
        &[
            "config",
            "digest",
            "mediaType",
            "size",
            "layers",
            "schemaVersion",
        ],
    );
}

#[test]
fn an_architecture_other_than_the_functions_is_refused() {
    check_architecture("arm64", "arm64").unwrap();
    check_architecture("x86_64", "x86_64").unwrap();
    for (configured, function) in [("arm64", "x86_64"), ("x86_64", "arm64")] {
        let err = check_architecture(configured, function).unwrap_err();
        assert!(
            format!("{err}").contains("deploy.toml [function] architecture")
                && format!("{err}").contains("--switch-architecture"),
            "{err}"
        );
    }
    assert!(check_architecture("amd64", "x86_64").is_err());
}

#[test]
fn the_config_names_the_platform_of_the_architecture() {
    for (architecture, platform) in [("x86_64", "amd64"), ("arm64", "arm64")] {
        let contents = Contents {
            bootstrap: b"binary",
            ca_bundle: b"",
        };
        let image = Image::assemble(&contents, architecture, "2026-01-02T03:04:05Z", 0).unwrap();
        let config: Value = serde_json::from_slice(&image.config).unwrap();
        assert_eq!(
            (config["architecture"].as_str(), config["os"].as_str()),
            (Some(platform), Some("linux"))
        );
        assert_eq!(image.architecture().unwrap(), architecture);
    }
}

#[test]
fn the_bootstrap_size_is_read_from_the_layer() {
    assert_eq!(image(b"abc").bootstrap_bytes().unwrap(), 3);
    let no_bootstrap = Image {
        layer: gzip(&tar::Builder::new(Vec::new()).into_inner().unwrap()).unwrap(),
        ..image(b"abc")
    };
    assert!(no_bootstrap.bootstrap_bytes().is_err());
}

#[test]
fn same_files_give_the_same_digest_and_other_files_another() {
    assert_eq!(image(b"binary").digest(), image(b"binary").digest());
    assert_ne!(image(b"binary").digest(), image(b"binary2").digest());
}

#[test]
fn layer_lists_parents_before_files_with_lambda_modes() {
    let image = image(b"binary");
    let tar = flate2::read::GzDecoder::new(image.layer.as_slice());
    let mut archive = tar::Archive::new(tar);
    let entries: Vec<(String, u32, u64)> = archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let h = e.header();
            (
                e.path().unwrap().display().to_string(),
                h.mode().unwrap(),
                h.uid().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        vec![
            ("bootstrap".into(), 0o755, 0),
            ("etc/".into(), 0o755, 0),
            ("etc/ssl/".into(), 0o755, 0),
            ("etc/ssl/certs/".into(), 0o755, 0),
            (CA_BUNDLE_PATH.into(), 0o644, 0),
        ]
    );
}

#[test]
fn layout_round_trips_and_detects_corruption() {
    let dir = std::env::temp_dir().join(format!("bgd-layout-{}", std::process::id()));
    let image = image(b"binary");
    image.write_layout(&dir).unwrap();
    assert_eq!(Image::read_layout(&dir).unwrap(), image);
    let layer = dir
        .join("blobs/sha256")
        .join(hex_of(&sha256_digest(&image.layer)));
    std::fs::write(&layer, b"tampered").unwrap();
    let err = Image::read_layout(&dir).unwrap_err();
    assert!(format!("{err:#}").contains("corrupt"), "{err:#}");
    std::fs::remove_dir_all(dir).unwrap();
}
