//! A rollout carried on by a later run than the one that began it: green is split and its
//! record says which rollout, by which plan, at which step since when (each shift write
//! records it). The run that carries it on judges real traffic from the rollout's start, as
//! one uninterrupted run would (CloudWatch keeps it), then watches what is left of the step,
//! takes the next ones, promotes and bakes, or reverts: the same decisions, whoever makes them.
use std::time::Duration;

use anyhow::{Context, Result};

use super::{Plan, Watched};
use crate::{
    cloud::{Alias, RestApi},
    config::{Strategy, show_duration},
    ledger::{self, Promotion, Rolling},
    pipeline::{Candidate, Cloud, Ctx},
    secret::Secret,
};

/// The rollout green's record says is under way, when green is split as it says: the record
/// alone (green moved since, by a rollback say) names none.
pub(crate) fn under_way(green: &Alias) -> Option<Rolling> {
    let rolling = Promotion::parse(&green.description).ok()?.rolling?;
    let weights = &green.target.additional_weights;
    (weights.len() == 1 && weights.contains_key(&rolling.to.to_string())).then_some(rolling)
}

impl<C: Cloud> Ctx<C> {
    /// Carries on `rolling`, the rollout under way on `green`, holding the lock (`token`).
    /// Returns what it watched; a breach is an error with exit 7.
    pub(crate) async fn resume(
        &self,
        (api, token): (&RestApi, &Secret),
        green: &Alias,
        rolling: &Rolling,
        registry: (&C::Registry, &str),
    ) -> Result<Watched> {
        let strategy: Strategy = rolling.strategy.parse().with_context(|| {
            format!("green's record names a plan this tool cannot read: {rolling:?}")
        })?;
        let plan = Plan {
            strategy,
            bake: Duration::from_secs(rolling.bake),
        };
        let (published, record) = self.version_record(&rolling.to.to_string()).await?;
        let candidate = Candidate {
            version: rolling.to,
            record: &record,
            description: &published.description,
            pin: false,
        };
        let steps = plan.strategy.steps().len();
        self.progress.note(format_args!(
            "green is mid-rollout of version {} ({}, bake {}), begun at {} and at step {} of {steps} since {}: carrying it on, its real traffic judged from the rollout's start",
            rolling.to,
            plan.strategy,
            show_duration(plan.bake),
            ledger::rfc3339(rolling.since),
            rolling.step + 1,
            ledger::rfc3339(rolling.step_at),
        ));
        self.roll_out(
            (api, token),
            green,
            candidate,
            (plan, Some(rolling)),
            registry,
        )
        .await
    }
}
