//! A published version's Description: the build it was made from, and where its image came
//! from when it was promoted from another environment.
use anyhow::{Context, Result};
use serde::Serialize;

use super::{actor, decode, encode, now_rfc3339};
use crate::facts::{BuildFacts, Origin};

/// What a published version was built from; its Description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionRecord {
    pub git_sha: String,
    pub dirty: bool,
    /// `sha256:HEX` of the image manifest.
    pub digest: String,
    pub build_id: Option<String>,
    /// When it was published (RFC 3339 UTC).
    pub published_at: String,
    pub actor: String,
    /// The environment and version its image was promoted from (`deploy --from`); the digest
    /// is this record's own, which the promotion proved equal.
    pub origin: Option<Origin>,
}

impl VersionRecord {
    /// The record of a version published now from this build.
    pub fn now(facts: &BuildFacts, digest: &str, origin: Option<Origin>) -> Self {
        Self {
            git_sha: facts.git_sha.clone(),
            dirty: facts.dirty,
            digest: digest.to_owned(),
            build_id: facts.build_id.clone(),
            published_at: now_rfc3339(),
            actor: actor(),
            origin,
        }
    }

    pub fn to_description(&self) -> String {
        let mut fields = vec![
            ("g", self.git_sha.clone()),
            ("d", crate::facts::hex_of(&self.digest).to_owned()),
            ("t", self.published_at.clone()),
            ("dirty", u8::from(self.dirty).to_string()),
        ];
        if let Some(id) = &self.build_id {
            fields.push(("id", id.clone()));
        }
        if let Some(origin) = &self.origin {
            fields.push(("src", format!("{}:{}", origin.environment, origin.version)));
        }
        fields.push(("by", self.actor.clone()));
        encode(&fields)
    }

    pub fn parse(description: &str) -> Result<Self> {
        let fields = decode(description)?;
        let get = |key: &str| {
            fields
                .get(key)
                .cloned()
                .with_context(|| format!("no {key}= in {description:?}"))
        };
        let digest = format!("sha256:{}", get("d")?);
        let origin = match fields.get("src").and_then(|s| s.rsplit_once(':')) {
            Some((environment, version)) => Some(Origin {
                environment: environment.to_owned(),
                version: version
                    .parse()
                    .with_context(|| format!("src= in {description:?} names no version"))?,
                digest: digest.clone(),
            }),
            None => None,
        };
        Ok(Self {
            git_sha: get("g")?,
            dirty: get("dirty")? == "1",
            digest,
            build_id: fields.get("id").cloned(),
            published_at: get("t")?,
            actor: fields.get("by").cloned().unwrap_or_default(),
            origin,
        })
    }
}
