//! [`Traffic`] from CloudWatch: Lambda's `Invocations` and `Errors` of `function:alias` by
//! `ExecutedVersion` (GetMetricData), and the states of the alarms deploy.toml names
//! (DescribeAlarms). The same calls reach AWS and the local cloud, whose front serves
//! CloudWatch's protocol from its data plane's counts.
use std::{
    collections::BTreeMap,
    time::{Duration, SystemTime},
};

use aws_sdk_cloudwatch::types::{
    AlarmType, Dimension, Metric, MetricDataQuery, MetricStat, StateValue,
};
use aws_smithy_types::DateTime;

use super::{Operation, error::OrCloud};
use bgd_core::health::{Counts, Reading, Traffic};

/// Lambda publishes its metrics at one-minute resolution.
pub(crate) const PERIOD: Duration = Duration::from_secs(60);
const METRICS: [&str; 2] = ["Invocations", "Errors"];

/// How late the last of a window's invocations is counted on AWS: its minute's datapoint
/// reaches CloudWatch about a minute after the period ([`bgd_core::health::METRICS_LAG`]); the local
/// cloud's front answers from its data plane's counts at once.
pub(crate) const LAMBDA_METRICS_LAG: Duration =
    Duration::from_secs(PERIOD.as_secs() + bgd_core::health::METRICS_LAG.as_secs());

/// CloudWatch through the SDK client `cloud/` built, and how late its counts come.
pub struct CloudWatch {
    pub(super) client: aws_sdk_cloudwatch::Client,
    pub(super) lag: Duration,
}

impl Traffic for CloudWatch {
    fn by_version<'a>(
        &'a self,
        function: &'a str,
        alias: &'a str,
        versions: &'a [String],
        since: SystemTime,
    ) -> Reading<'a, BTreeMap<String, Counts>> {
        Box::pin(async move {
            let resource = format!("{function}:{alias}");
            let mut request = self.client.get_metric_data();
            // Query ids start with a lower-case letter: `m{metric}v{version's index}`.
            for (v, version) in versions.iter().enumerate() {
                for (m, name) in METRICS.iter().enumerate() {
                    let dimensions = [
                        ("FunctionName", function),
                        ("Resource", resource.as_str()),
                        ("ExecutedVersion", version.as_str()),
                    ]
                    .map(|(name, value)| Dimension::builder().name(name).value(value).build());
                    let metric = Metric::builder()
                        .namespace("AWS/Lambda")
                        .metric_name(*name)
                        .set_dimensions(Some(dimensions.to_vec()))
                        .build();
                    let stat = MetricStat::builder()
                        .metric(metric)
                        .period(PERIOD.as_secs() as i32)
                        .stat("Sum")
                        .build();
                    request = request.metric_data_queries(
                        MetricDataQuery::builder()
                            .id(format!("m{m}v{v}"))
                            .metric_stat(stat)
                            .build(),
                    );
                }
            }
            // Whole periods: from the minute `since` falls in to the one now running.
            let start = DateTime::from(since).secs();
            let start = start - start.rem_euclid(PERIOD.as_secs() as i64);
            let end = DateTime::from(SystemTime::now()).secs() + PERIOD.as_secs() as i64;
            let mut pages = request
                .start_time(DateTime::from_secs(start))
                .end_time(DateTime::from_secs(end))
                .into_paginator()
                .send();
            let mut counts: BTreeMap<String, Counts> = versions
                .iter()
                .map(|v| (v.clone(), Counts::default()))
                .collect();
            let subject = format!("the metrics of {resource}");
            while let Some(page) = pages.next().await {
                let page = page.or_cloud(Operation::GetMetricData, &subject)?;
                for result in page.metric_data_results() {
                    let Some((m, v)) = result.id().and_then(parse_id) else {
                        continue;
                    };
                    let Some(entry) = versions.get(v).and_then(|v| counts.get_mut(v)) else {
                        continue;
                    };
                    let sum = result.values().iter().sum::<f64>().max(0.0).round() as u64;
                    match m {
                        0 => entry.invocations += sum,
                        _ => entry.errors += sum,
                    }
                }
            }
            Ok(counts)
        })
    }

    fn alarming<'a>(&'a self, names: &'a [String]) -> Reading<'a, Vec<String>> {
        Box::pin(async move {
            let out = self
                .client
                .describe_alarms()
                .set_alarm_names(Some(names.to_vec()))
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .max_records(100)
                .send()
                .await
                .or_cloud(Operation::DescribeAlarms, "deploy.toml's [rollout] alarms")?;
            let states: BTreeMap<&str, Option<&StateValue>> = out
                .metric_alarms()
                .iter()
                .map(|a| (a.alarm_name().unwrap_or_default(), a.state_value()))
                .chain(
                    out.composite_alarms()
                        .iter()
                        .map(|a| (a.alarm_name().unwrap_or_default(), a.state_value())),
                )
                .collect();
            // DescribeAlarms leaves out names it does not know rather than failing.
            if let Some(missing) = names.iter().find(|n| !states.contains_key(n.as_str())) {
                anyhow::bail!(
                    "no CloudWatch alarm {missing:?} (deploy.toml's [rollout] alarms) in this region: create it, or take it out of the list"
                );
            }
            Ok(names
                .iter()
                .filter(|n| states.get(n.as_str()) == Some(&Some(&StateValue::Alarm)))
                .cloned()
                .collect())
        })
    }

    fn lag(&self) -> Duration {
        self.lag
    }
}

/// `m{metric}v{version}` → (metric, version) indexes.
fn parse_id(id: &str) -> Option<(usize, usize)> {
    let (m, v) = id.strip_prefix('m')?.split_once('v')?;
    Some((m.parse().ok()?, v.parse().ok()?))
}
