//! "Verified": the image tag that records blue's verification of one publication of a
//! version, and the one rule every verb reads it with.
use sha2::{Digest, Sha256};

use super::VersionRecord;
use crate::cloud::Version;

/// The image tag recording that blue verified version `version` as published with
/// `description`. The Description names the publication (build, digest, time, actor), so a tag
/// left by an earlier function of the same name, whose version numbers started again at 1,
/// never names a version of this one. `verified-` keeps the image from untagged-image
/// lifecycle rules.
pub fn verified_tag(version: u64, description: &str) -> String {
    format!("verified-{version}-{}", fingerprint(version, description))
}

/// The image tag recording that a rollout of this publication of `version` failed on green
/// and was rolled back automatically: `rollback --to` refuses it again without `--force`.
pub fn failed_tag(version: u64, description: &str) -> String {
    format!("failed-{version}-{}", fingerprint(version, description))
}

/// The image tag recording that a rollout of this image failed on green and was rolled back:
/// `deploy` refuses the image again without `--force`. Every deploy publishes a new version
/// (it updates the function first: aws-behaviours row 45), so [`failed_tag`], which names one
/// publication, cannot stop a deploy; this one names the image itself.
pub fn failed_image_tag(digest: &str) -> String {
    format!("failed-image-{}", crate::facts::hex_of(digest))
}

/// The image tag a deploy pushes beside its commit's: the repository's lifecycle policy keeps
/// the newest images so tagged, so the image `$LATEST` runs after a deploy that failed on blue
/// (never verified) does not expire under it while no deploy follows (aws-audit-3 N4, N8).
pub fn latest_image_tag(digest: &str) -> String {
    format!("{LATEST_IMAGE_PREFIX}{}", crate::facts::hex_of(digest))
}

/// What every [`latest_image_tag`] begins with.
pub const LATEST_IMAGE_PREFIX: &str = "latest-";

/// The first 16 hex of sha256(version, Description): names one publication of a version.
fn fingerprint(version: u64, description: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(version.to_string().as_bytes());
    hash.update(b"\0");
    hash.update(description.as_bytes());
    hex::encode(hash.finalize())[..16].to_owned()
}

/// The one rule for "blue verified this version", used by history, status and rollback: its
/// Description is a bgd record, the image Lambda reports for it is the one that record names,
/// and the verification tag of this very publication points at that same image. `tagged` is
/// the digest [`verified_tag`] resolves to in the repository (`None`: no such tag). Returns
/// the record, or why the version does not count as verified.
pub fn verification(version: &Version, tagged: Option<&str>) -> Result<VersionRecord, String> {
    let record = VersionRecord::parse(&version.description)
        .map_err(|_| format!("version {} was not published by bgd", version.version))?;
    match &version.image {
        Some(image) if image.digest == record.digest => {}
        Some(image) => {
            return Err(format!(
                "version {} runs image {}, but its record names {}",
                version.version, image.digest, record.digest
            ));
        }
        None => {
            return Err(format!(
                "which image version {} runs cannot be read",
                version.version
            ));
        }
    }
    match tagged {
        Some(digest) if digest == record.digest => Ok(record),
        Some(digest) => Err(format!(
            "its verification tag points at {digest}, not at its image {}",
            record.digest
        )),
        None => Err(format!(
            "no verification is recorded for version {} as published",
            version.version
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::cloud::ImageRef;

    #[test]
    fn a_verification_counts_only_for_the_publication_it_names() {
        let rec = VersionRecord {
            git_sha: "a".repeat(40),
            dirty: false,
            digest: format!("sha256:{}", "b".repeat(64)),
            build_id: None,
            published_at: "2026-11-27T00:12:34Z".into(),
            actor: "me".into(),
            origin: None,
        };
        let description = rec.to_description();
        let version = |description: &str, digest: &str| Version {
            function_name: "bgd".into(),
            function_arn: "arn".into(),
            version: "2".into(),
            code_sha256: String::new(),
            image: Some(ImageRef {
                registry: "r".into(),
                repository: "bgd".into(),
                digest: digest.into(),
            }),
            settings: crate::cloud::Settings {
                environment: Default::default(),
                memory_mb: 128,
                timeout: Duration::from_secs(3),
            },
            description: description.into(),
            state: crate::cloud::VersionState::Active,
            architecture: "x86_64".into(),
            last_update_status: None,
            revision_id: None,
        };
        let ours = version(&description, &rec.digest);
        assert!(verification(&ours, Some(&rec.digest)).is_ok());
        assert!(verification(&ours, None).is_err(), "no tag, not verified");
        let other = format!("sha256:{}", "c".repeat(64));
        assert!(
            verification(&ours, Some(&other)).is_err(),
            "a tag on another image"
        );
        assert!(
            verification(&version(&description, &other), Some(&rec.digest)).is_err(),
            "runs another image"
        );
        assert!(verification(&version("by hand", &rec.digest), Some(&rec.digest)).is_err());
        // Version 2 of a function recreated under the same name: the same number, another
        // publication, so another tag.
        let again = VersionRecord {
            published_at: "2026-11-28T00:00:00Z".into(),
            ..rec.clone()
        };
        assert_ne!(
            verified_tag(2, &description),
            verified_tag(2, &again.to_description())
        );
        assert_ne!(verified_tag(2, &description), verified_tag(3, &description));
    }
}
