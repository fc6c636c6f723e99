//! Per-version invocation and error counts, as Lambda publishes them to CloudWatch
//! (`Invocations` and `Errors` of `function:alias` by `ExecutedVersion`, one-second
//! resolution), so a rollout watching green reads the same signal locally as on AWS. And the
//! one fault the data plane injects on request, as AWS FIS's `aws:lambda:invocation-error`
//! does: a share of one version's invocations through one alias fail, for the tests of a
//! candidate that passes blue and fails real traffic.
use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
    time::{SystemTime, UNIX_EPOCH},
};

use axum::{Json, extract::State, http::StatusCode};
use bgd_rules::metrics::Counts;
use serde::{Deserialize, Serialize};

use crate::{Gateway, control::Scope};

/// How long counts are kept: longer than any rollout's shift and bake.
const RETENTION_SECS: u64 = 3 * 3600;

/// Who was invoked: the function (`ACCOUNT/REGION/NAME`: Lambda publishes each account's and
/// region's metrics apart) and the qualifier the integration named (an alias or a version),
/// then the version that ran.
type Key = (String, String, String);

#[derive(Default)]
pub(crate) struct Metrics {
    /// Key → epoch second → counts in that second.
    counts: Mutex<HashMap<Key, BTreeMap<u64, Counts>>>,
    faults: Mutex<HashMap<Key, f64>>,
}

/// `POST /.local/faults`: fail `share` (0.0..=1.0) of the invocations of `version` of
/// `function` through `qualifier` (an alias); 0 removes the fault.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Fault {
    pub function: String,
    /// The function's account and region; the gateway's default ones when not given.
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    pub qualifier: String,
    pub version: String,
    pub share: f64,
}

/// `GET /.local/metrics?function=F[&qualifier=A]&since=EPOCH_SECONDS`: per version, of one
/// qualifier's invocations or (without one) of all the function's, as Lambda publishes them by
/// `FunctionName` alone too.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Query {
    pub function: String,
    /// The function's account and region; the gateway's default ones when not given.
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub qualifier: Option<String>,
    pub since: u64,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Metrics {
    pub(crate) fn record(&self, function: &str, qualifier: &str, version: &str, failed: bool) {
        let now = now_secs();
        let key = (
            function.to_owned(),
            qualifier.to_owned(),
            version.to_owned(),
        );
        let mut counts = self.counts.lock().expect("lock");
        let series = counts.entry(key).or_default();
        series.entry(now).or_default().add(failed);
        if series.len() > 1 {
            series.retain(|&at, _| at + RETENTION_SECS >= now);
        }
    }

    /// Sums per version of the seconds at or after `since`.
    pub(crate) fn since(&self, query: &Query) -> BTreeMap<String, Counts> {
        let counts = self.counts.lock().expect("lock");
        let mut totals: BTreeMap<String, Counts> = BTreeMap::new();
        let wanted = |f: &str, q: &str| {
            f == query.function && query.qualifier.as_deref().is_none_or(|wanted| wanted == q)
        };
        for ((_, _, version), series) in counts.iter().filter(|((f, q, _), _)| wanted(f, q)) {
            let total = totals.entry(version.clone()).or_default();
            for (_, c) in series.range(query.since..) {
                total.invocations += c.invocations;
                total.errors += c.errors;
            }
        }
        totals
    }

    pub(crate) fn set_fault(&self, fault: Fault) {
        let key = (fault.function, fault.qualifier, fault.version);
        let mut faults = self.faults.lock().expect("lock");
        if fault.share > 0.0 {
            faults.insert(key, fault.share.min(1.0));
        } else {
            faults.remove(&key);
        }
    }

    /// Whether this invocation is one the injected fault fails; `roll` is uniform in 0..1.
    pub(crate) fn faulted(
        &self,
        function: &str,
        qualifier: &str,
        version: &str,
        roll: f64,
    ) -> bool {
        let key = (
            function.to_owned(),
            qualifier.to_owned(),
            version.to_owned(),
        );
        self.faults
            .lock()
            .expect("lock")
            .get(&key)
            .is_some_and(|&share| roll < share)
    }
}

/// `GET` [`crate::METRICS_PATH`]: the counts a [`Query`] asks for.
pub(crate) async fn counts(
    State(gateway): State<Arc<Gateway>>,
    axum::extract::Query(query): axum::extract::Query<Query>,
) -> Json<BTreeMap<String, Counts>> {
    let scope = gateway.scope_or_default(&query.account, &query.region);
    let function = series(&scope, &query.function);
    Json(gateway.metrics.since(&Query { function, ..query }))
}

/// `POST` [`crate::FAULTS_PATH`]: sets a [`Fault`].
pub(crate) async fn fault(
    State(gateway): State<Arc<Gateway>>,
    Json(fault): Json<Fault>,
) -> StatusCode {
    let scope = gateway.scope_or_default(&fault.account, &fault.region);
    let function = series(&scope, &fault.function);
    gateway.metrics.set_fault(Fault { function, ..fault });
    StatusCode::NO_CONTENT
}

/// A function's metrics series: its account's and region's apart, as Lambda keeps them.
pub(crate) fn series(scope: &Scope, function: &str) -> String {
    format!("{}/{}/{function}", scope.account, scope.region)
}

impl Gateway {
    /// `account` and `region`, each the default scope's when not given.
    fn scope_or_default(&self, account: &Option<String>, region: &Option<String>) -> Scope {
        let default = &self.options.default_scope;
        Scope {
            account: account.clone().unwrap_or_else(|| default.account.clone()),
            region: region.clone().unwrap_or_else(|| default.region.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Fault, Metrics, Query};

    #[test]
    fn counts_are_kept_per_alias_and_executed_version() {
        let metrics = Metrics::default();
        metrics.record("f", "green", "1", false);
        metrics.record("f", "green", "2", true);
        metrics.record("f", "green", "2", false);
        metrics.record("f", "blue", "2", true);
        let query = Query {
            function: "f".into(),
            account: None,
            region: None,
            qualifier: Some("green".into()),
            since: 0,
        };
        let counts = metrics.since(&query);
        assert_eq!((counts["1"].invocations, counts["1"].errors), (1, 0));
        assert_eq!((counts["2"].invocations, counts["2"].errors), (2, 1));
        // By function alone: every alias's invocations of a version, summed.
        let all = metrics.since(&Query {
            qualifier: None,
            ..query.clone()
        });
        assert_eq!((all["2"].invocations, all["2"].errors), (3, 2));
        let later = Query {
            since: u64::MAX,
            ..query
        };
        assert_eq!(metrics.since(&later)["2"].invocations, 0);
    }

    #[test]
    fn a_fault_fails_its_share_of_one_version_through_one_alias_only() {
        let metrics = Metrics::default();
        metrics.set_fault(Fault {
            function: "f".into(),
            account: None,
            region: None,
            qualifier: "green".into(),
            version: "2".into(),
            share: 0.5,
        });
        assert!(metrics.faulted("f", "green", "2", 0.4));
        assert!(!metrics.faulted("f", "green", "2", 0.6));
        assert!(!metrics.faulted("f", "blue", "2", 0.0));
        assert!(!metrics.faulted("f", "green", "1", 0.0));
    }
}
