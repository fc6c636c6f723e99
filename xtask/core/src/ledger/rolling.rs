//! A rollout under way, as green's record carries it beside the promotion: each shift write
//! records it, and a later run reads it to carry the rollout on (`pipeline::resume`).
use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde::Serialize;

/// A rollout under way, in green's record while green is split: what is rolling out, by
/// which plan, and how far it got. Everything a run needs to take the rollout's next step
/// after the run that began it was killed or ran out of time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rolling {
    /// The version rolling out: green's extra weight.
    pub to: u64,
    /// The plan: its strategy as `deploy --strategy` takes it, and its bake in seconds.
    pub strategy: String,
    pub bake: u64,
    /// The step green is at (from 0) and when its write was sent (epoch seconds).
    pub step: usize,
    pub step_at: u64,
    /// When the rollout began (epoch seconds): real traffic is judged from there, as one
    /// uninterrupted run judges it.
    pub since: u64,
}

impl Rolling {
    /// Its fields in green's record, beside the promotion's.
    pub(super) fn fields(&self) -> [(&'static str, String); 6] {
        [
            ("to", self.to.to_string()),
            ("plan", self.strategy.clone()),
            ("bakes", self.bake.to_string()),
            ("step", self.step.to_string()),
            ("st", self.step_at.to_string()),
            ("since", self.since.to_string()),
        ]
    }

    /// `None` when no `to=` says a rollout is under way.
    pub(super) fn decode(fields: &BTreeMap<String, String>) -> Result<Option<Self>> {
        if !fields.contains_key("to") {
            return Ok(None);
        }
        let get = |key: &str| {
            fields
                .get(key)
                .with_context(|| format!("a rollout's record without {key}="))
        };
        let number = |key: &str| -> Result<u64> {
            let value = get(key)?;
            value
                .parse()
                .with_context(|| format!("{key}={value} is not a number"))
        };
        Ok(Some(Self {
            to: number("to")?,
            strategy: get("plan")?.clone(),
            bake: number("bakes")?,
            step: usize::try_from(number("step")?)?,
            step_at: number("st")?,
            since: number("since")?,
        }))
    }
}
