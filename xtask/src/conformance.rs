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

/// The bar (32): at least this share of all recorded cases pass against each model; a
/// skip is no pass.
const BAR: f64 = 0.95;

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
        let short = short_of_the_bar(&counts);
        anyhow::ensure!(
            self.filter.is_some() || short.is_empty(),
            "fewer than {:.0} % of the recorded cases pass against {} (skipped lines above: model \
             what they need, or say in the case why a model cannot run it)",
            BAR * 100.0,
            short.join(", ")
        );
        Ok(())
    }
}

/// The models fewer than [`BAR`] of whose cases passed, each with its count.
fn short_of_the_bar(counts: &BTreeMap<(String, &str), Counts>) -> Vec<String> {
    let mut per_model: BTreeMap<&str, Counts> = BTreeMap::new();
    for ((_, model), [p, f, s]) in counts {
        let slot = per_model.entry(model).or_default();
        *slot = [slot[0] + p, slot[1] + f, slot[2] + s];
    }
    per_model
        .into_iter()
        .filter(|(_, [p, f, s])| (*p as f64) < BAR * (p + f + s) as f64)
        .map(|(model, [p, f, s])| format!("{model} ({p} of {})", p + f + s))
        .collect()
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    #[test]
    fn a_model_under_95_percent_of_the_cases_is_short_of_the_bar_and_a_skip_is_no_pass() {
        let mut counts = BTreeMap::from([
            (("lambda".to_owned(), "local"), [35, 0, 0]),
            (("ecr".to_owned(), "local"), [13, 0, 0]),
            (("lambda".to_owned(), "sim"), [35, 0, 0]),
            // 3 of 13 skipped: 45 of 48 pass, 94 %.
            (("ecr".to_owned(), "sim"), [10, 0, 3]),
        ]);
        assert_eq!(super::short_of_the_bar(&counts), ["sim (45 of 48)"]);
        // One skipped: 47 of 48, 98 %.
        counts.insert(("ecr".to_owned(), "sim"), [12, 0, 1]);
        assert!(super::short_of_the_bar(&counts).is_empty());
    }
}
