//! `cargo xtask conformance`: answers recorded from the real AWS service
//! (`tests/conformance/cases/SERVICE.json`, each case with its source; the format is
//! `bgd_rules::conformance`'s) replayed against both models of AWS: the local cloud, one of its
//! own, through the AWS SDK over HTTP, and the simulation's in-memory AWS. `cargo xtask test`
//! runs it first.
use std::{collections::BTreeMap, time::Duration};

use anyhow::{Context, Result};

use crate::flags;
use bgd_core::setup;
use bgd_local::LocalCloud;
use bgd_rules::conformance::{Case, DELAYS, Verdict, run};

/// Passed, failed, skipped.
type Counts = [usize; 3];

impl flags::Conformance {
    pub async fn run(self) -> Result<()> {
        let cases: Vec<(String, Case)> = setup::conformance_cases()?
            .into_iter()
            .filter(|(service, case)| {
                let named = format!("{service}/{}", case.name);
                self.filter.as_ref().is_none_or(|f| named.contains(f))
            })
            .collect();
        let only: Vec<Case> = cases.iter().map(|(_, case)| case.clone()).collect();
        // The simulation keeps a runtime of its own, on virtual time.
        let on_sim = only.clone();
        let sim =
            tokio::task::spawn_blocking(move || bgd_sim::conformance(&on_sim, DELAYS)).await??;
        let local = on_a_local_cloud(&only).await?;
        let mut counts: BTreeMap<(String, &str), Counts> = BTreeMap::new();
        for (model, verdicts) in [("local", &local), ("sim", &sim)] {
            for ((service, case), verdict) in cases.iter().zip(verdicts) {
                let slot = counts.entry((service.clone(), model)).or_default();
                match verdict {
                    Verdict::Passed => slot[0] += 1,
                    Verdict::Failed(why) => {
                        slot[1] += 1;
                        println!("FAILED  {model:5} {service}/{}: {why}", case.name);
                    }
                    Verdict::Skipped(why) => {
                        slot[2] += 1;
                        println!("skipped {model:5} {service}/{}: {why}", case.name);
                    }
                }
            }
        }
        let mut total = Counts::default();
        for ((service, model), [p, f, s]) in &counts {
            println!("{service:12} {model:5} {p} passed, {f} failed, {s} skipped");
            total = [total[0] + p, total[1] + f, total[2] + s];
        }
        let [p, f, s] = total;
        println!("conformance: {p} passed, {f} failed, {s} skipped");
        anyhow::ensure!(
            f == 0,
            "{f} recorded AWS answers are not what a model answers (FAILED lines above)"
        );
        Ok(())
    }
}

/// The cases against a local cloud of their own, brought down again whatever happens.
async fn on_a_local_cloud(cases: &[Case]) -> Result<Vec<Verdict>> {
    let dir = std::env::temp_dir().join(format!("bgd-conformance-{}", std::process::id()));
    let cloud = LocalCloud::at(&dir);
    let exe = std::env::current_exe().context("finding the xtask binary")?;
    let verdicts = async {
        let endpoints = cloud.up(&exe).await?;
        bgd_local::front::set_delays(&endpoints.front_url, &DELAYS).await?;
        let settle = Duration::from_millis(DELAYS.pending_ms + DELAYS.update_ms + 100);
        let mut model = bgd_aws::WireModel::connect(endpoints.target(), settle).await?;
        let mut verdicts = Vec::new();
        for case in cases {
            verdicts.push(run(&mut model, case).await);
        }
        anyhow::Ok(verdicts)
    }
    .await;
    let down = cloud.down();
    let _ = std::fs::remove_dir_all(&dir);
    down?;
    verdicts
}
