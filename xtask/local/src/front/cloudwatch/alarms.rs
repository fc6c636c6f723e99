//! CloudWatch's alarms on the local cloud: PutMetricAlarm, SetAlarmState, DeleteAlarms and
//! DescribeAlarms, on the front's books of them (moto's are not asked).
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Refused, answer, error};
use crate::front::{Answer, Front};

/// An alarm as the front keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Alarm {
    pub state: String,
    pub reason: String,
    /// What PutMetricAlarm said (metric, statistic, threshold…), which DescribeAlarms answers.
    #[serde(default)]
    pub definition: Value,
    /// When (epoch seconds) it was last put, and its state last set and last changed.
    #[serde(default)]
    pub configured_at: u64,
    #[serde(default)]
    pub state_updated_at: u64,
    #[serde(default)]
    pub state_changed_at: u64,
}

const STATES: [&str; 3] = ["OK", "ALARM", "INSUFFICIENT_DATA"];

impl Front {
    /// The alarms' operations, on the front's books of them (moto's are not asked).
    pub(super) async fn alarms(&self, region: &str, operation: &str, input: &Value) -> Answer {
        let names: Vec<&str> = input["AlarmNames"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let mut books = self.books.lock().await;
        let mut alarms = Alarms {
            books: &mut books.alarms,
            region,
            now: crate::front::state::now_ms() / 1000,
        };
        let written = match operation {
            "PutMetricAlarm" => alarms.put(input),
            "SetAlarmState" => alarms.set_state(input),
            "DeleteAlarms" => alarms.delete(&names),
            _ => return answer(&alarms.describe(&names)),
        };
        match written {
            Ok(()) => {
                self.save(&books).await;
                answer(&json!({}))
            }
            Err((code, message)) => error(code, &message),
        }
    }
}

/// One region's alarms in the front's books, as one call finds them at `now` (epoch seconds).
struct Alarms<'a> {
    books: &'a mut BTreeMap<String, Alarm>,
    region: &'a str,
    now: u64,
}

impl Alarms<'_> {
    fn key(&self, name: &str) -> String {
        format!("{}/{name}", self.region)
    }

    fn put(&mut self, input: &Value) -> Result<(), Refused> {
        let Some(name) = input["AlarmName"].as_str().filter(|n| !n.is_empty()) else {
            return Err(("ValidationError", "AlarmName is required".into()));
        };
        let now = self.now;
        let alarm = self.books.entry(self.key(name)).or_insert_with(|| Alarm {
            state: "INSUFFICIENT_DATA".into(),
            reason: "Unchecked: Initial alarm creation".into(),
            definition: Value::Null,
            configured_at: now,
            state_updated_at: now,
            state_changed_at: now,
        });
        alarm.definition = input.clone();
        // A Double in CloudWatch's model: a JSON client's `1` is answered `1.0`.
        if let Some(threshold) = input["Threshold"].as_f64() {
            alarm.definition["Threshold"] = json!(threshold);
        }
        alarm.configured_at = now;
        Ok(())
    }

    fn set_state(&mut self, input: &Value) -> Result<(), Refused> {
        let name = input["AlarmName"].as_str().unwrap_or_default();
        let state = input["StateValue"].as_str().unwrap_or_default();
        if !STATES.contains(&state) {
            return Err(("ValidationError", format!("StateValue {state:?}")));
        }
        let now = self.now;
        let key = self.key(name);
        let Some(alarm) = self.books.get_mut(&key) else {
            return Err(("ResourceNotFound", format!("alarm {name} does not exist")));
        };
        if alarm.state != state {
            alarm.state_changed_at = now;
        }
        alarm.state = state.into();
        alarm.state_updated_at = now;
        alarm.reason = input["StateReason"].as_str().unwrap_or_default().into();
        Ok(())
    }

    fn delete(&mut self, names: &[&str]) -> Result<(), Refused> {
        if let Some(name) = names
            .iter()
            .find(|n| !self.books.contains_key(&self.key(n)))
        {
            return Err(("ResourceNotFound", format!("alarm {name} does not exist")));
        }
        for name in names {
            self.books.remove(&self.key(name));
        }
        Ok(())
    }

    /// DescribeAlarms: names it does not know are left out, not refused.
    fn describe(&self, names: &[&str]) -> Value {
        let wanted = |name: &str| names.is_empty() || names.contains(&name);
        let prefix = self.key("");
        let metric_alarms: Vec<Value> = self
            .books
            .iter()
            .filter_map(|(k, alarm)| Some((k.strip_prefix(&prefix)?, alarm)))
            .filter(|(name, _)| wanted(name))
            .map(|(name, alarm)| described(self.region, name, alarm))
            .collect();
        json!({ "MetricAlarms": metric_alarms, "CompositeAlarms": [] })
    }
}

/// An alarm as DescribeAlarms answers it: its definition, its ARN and state, when each last
/// changed, and the lists CloudWatch always writes (recorded: LocalStack's AWS-validated
/// `test_describe_alarms_converts_date_format_correctly`, describe-alarms; the front answered
/// name and state only).
fn described(region: &str, name: &str, alarm: &Alarm) -> Value {
    let mut answer = json!({
        "ActionsEnabled": true, "AlarmActions": [], "OKActions": [],
        "InsufficientDataActions": [], "Dimensions": [],
    });
    if let (Some(answer), Some(definition)) = (answer.as_object_mut(), alarm.definition.as_object())
    {
        answer.extend(definition.clone());
    }
    answer["AlarmName"] = json!(name);
    // moto's one account.
    answer["AlarmArn"] = json!(format!(
        "arn:aws:cloudwatch:{region}:123456789012:alarm:{name}"
    ));
    answer["StateValue"] = json!(alarm.state);
    answer["StateReason"] = json!(alarm.reason);
    answer["AlarmConfigurationUpdatedTimestamp"] = json!(alarm.configured_at);
    answer["StateUpdatedTimestamp"] = json!(alarm.state_updated_at);
    answer["StateTransitionedTimestamp"] = json!(alarm.state_changed_at);
    answer
}
