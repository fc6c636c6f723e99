//! CloudWatch's metric alarms as its API keeps them (PutMetricAlarm, SetAlarmState,
//! DescribeAlarms, DeleteAlarms): a new alarm is INSUFFICIENT_DATA until evaluated or set, a
//! state outside CloudWatch's three is a ValidationError, an unknown alarm is ResourceNotFound
//! (HTTP 404) to SetAlarmState and DeleteAlarms, and DescribeAlarms leaves out the names it does
//! not know. (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_SetAlarmState.html>;
//! recorded: LocalStack's AWS-validated `test_set_alarm_invalid_input`,
//! `test_describe_alarms_converts_date_format_correctly`, tests/aws/services/cloudwatch/.)
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// An alarm as CloudWatch keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Alarm {
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

/// A refusal: CloudWatch's error code (as `__type` and `x-amzn-query-error` name it) and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub code: &'static str,
    pub message: String,
}

impl Refused {
    /// Its HTTP status: ResourceNotFound is CloudWatch's one 404.
    pub fn status(&self) -> u16 {
        if self.code == "ResourceNotFound" {
            404
        } else {
            400
        }
    }
}

fn refused(code: &'static str, message: String) -> Refused {
    Refused { code, message }
}

/// One alarm call on `alarms` (keyed by `prefix` and the alarm's name: a model keeps one map
/// for every region), at `now` (epoch seconds); `arn` is the ARN of an alarm by its name.
/// The answer is the operation's output, as JSON.
pub fn alarms(
    alarms: &mut BTreeMap<String, Alarm>,
    prefix: &str,
    operation: &str,
    input: &Value,
    now: u64,
    arn: impl Fn(&str) -> String,
) -> Result<Value, Refused> {
    let key = |name: &str| format!("{prefix}{name}");
    let names: Vec<&str> = input["AlarmNames"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let unknown = |name: &str| refused("ResourceNotFound", format!("alarm {name} does not exist"));
    match operation {
        "PutMetricAlarm" => {
            let Some(name) = input["AlarmName"].as_str().filter(|n| !n.is_empty()) else {
                return Err(refused("ValidationError", "AlarmName is required".into()));
            };
            let alarm = alarms.entry(key(name)).or_insert_with(|| Alarm {
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
                alarm.definition["Threshold"] = serde_json::json!(threshold);
            }
            alarm.configured_at = now;
        }
        "SetAlarmState" => {
            let name = input["AlarmName"].as_str().unwrap_or_default();
            let state = input["StateValue"].as_str().unwrap_or_default();
            if !STATES.contains(&state) {
                return Err(refused("ValidationError", format!("StateValue {state:?}")));
            }
            let alarm = alarms.get_mut(&key(name)).ok_or_else(|| unknown(name))?;
            if alarm.state != state {
                alarm.state_changed_at = now;
            }
            alarm.state = state.into();
            alarm.state_updated_at = now;
            alarm.reason = input["StateReason"].as_str().unwrap_or_default().into();
        }
        "DeleteAlarms" => {
            if let Some(name) = names.iter().find(|n| !alarms.contains_key(&key(n))) {
                return Err(unknown(name));
            }
            for name in &names {
                alarms.remove(&key(name));
            }
        }
        _ => {
            // DescribeAlarms: names it does not know are left out, not refused.
            let wanted = |name: &str| names.is_empty() || names.contains(&name);
            let metric_alarms: Vec<Value> = alarms
                .iter()
                .filter_map(|(k, alarm)| Some((k.strip_prefix(prefix)?, alarm)))
                .filter(|(name, _)| wanted(name))
                .map(|(name, alarm)| described(name, &arn(name), alarm))
                .collect();
            return Ok(json!({ "MetricAlarms": metric_alarms, "CompositeAlarms": [] }));
        }
    }
    Ok(json!({}))
}

/// An alarm as DescribeAlarms answers it: its definition, its ARN and state, when each last
/// changed, and the lists CloudWatch always writes (recorded: LocalStack's AWS-validated
/// `test_describe_alarms_converts_date_format_correctly`, describe-alarms).
fn described(name: &str, arn: &str, alarm: &Alarm) -> Value {
    let mut answer = json!({
        "ActionsEnabled": true, "AlarmActions": [], "OKActions": [],
        "InsufficientDataActions": [], "Dimensions": [],
    });
    if let (Some(answer), Some(definition)) = (answer.as_object_mut(), alarm.definition.as_object())
    {
        answer.extend(definition.clone());
    }
    answer["AlarmName"] = json!(name);
    answer["AlarmArn"] = json!(arn);
    answer["StateValue"] = json!(alarm.state);
    answer["StateReason"] = json!(alarm.reason);
    answer["AlarmConfigurationUpdatedTimestamp"] = json!(alarm.configured_at);
    answer["StateUpdatedTimestamp"] = json!(alarm.state_updated_at);
    answer["StateTransitionedTimestamp"] = json!(alarm.state_changed_at);
    answer
}
