//! CloudWatch's query protocol (what the aws CLI and boto3 spoke to it before AWS JSON 1.0,
//! and still may): a form (`Action=OP&Version=2010-08-01&A.member.1=…`) in, XML out
//! (`<OPResponse><OPResult>…</OPResult></OPResponse>`, lists as `<member>`, times in ISO
//! 8601; an error as `<ErrorResponse><Error><Type/><Code/><Message/></Error></ErrorResponse>`).
//! The call is read into the shapes the CBOR path serves and its answer written back, so the
//! three protocols answer alike
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/making-api-requests.html>).
use axum::{
    body::Bytes,
    http::{HeaderValue, StatusCode},
};
use serde_json::{Map, Value};

use super::{Answer, cbor};
use bgd_rules::clock::{epoch_of, rfc3339};

/// The members the CBOR path reads as numbers, booleans and times; the form carries text.
const NUMBERS: &[&str] = &[
    "Period",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "MaxRecords",
    "MaxDatapoints",
];
const BOOLEANS: &[&str] = &["ActionsEnabled", "ReturnData"];
const TIMES: &[&str] = &["StartTime", "EndTime"];

/// The operation and its input, from a form body; `None` without an `Action`.
pub(super) fn input(form: &[u8]) -> Option<(String, Value)> {
    let mut operation = None;
    let mut input = Value::Object(Map::new());
    for (key, value) in form_urlencoded::parse(form) {
        match key.as_ref() {
            "Action" => operation = Some(value.into_owned()),
            "Version" => {}
            key => set(&mut input, &key.split('.').collect::<Vec<_>>(), &value),
        }
    }
    Some((operation?, input))
}

/// `A.member.2.B` = value, into `{"A": [_, {"B": value}]}`.
fn set(at: &mut Value, path: &[&str], value: &str) {
    match path {
        [] => {}
        [list, "member", index, rest @ ..] => {
            let Ok(index) = index.parse::<usize>() else {
                return;
            };
            let items = at[*list].as_array().is_none();
            if items {
                at[*list] = Value::Array(Vec::new());
            }
            let items = at[*list].as_array_mut().expect("an array, set above");
            while items.len() < index {
                items.push(Value::Null);
            }
            set(&mut items[index - 1], rest, value);
            if rest.is_empty() {
                items[index - 1] = Value::from(value);
            }
        }
        [name] => at[*name] = typed(name, value),
        [name, rest @ ..] => {
            if !at[*name].is_object() {
                at[*name] = Value::Object(Map::new());
            }
            set(&mut at[*name], rest, value);
        }
    }
}

fn typed(name: &str, value: &str) -> Value {
    let number = |v: &str| {
        v.parse::<i64>()
            .map(Value::from)
            .or_else(|_| v.parse::<f64>().map(Value::from))
            .ok()
    };
    let parsed = if NUMBERS.contains(&name) {
        number(value)
    } else if BOOLEANS.contains(&name) {
        value.parse::<bool>().ok().map(Value::from)
    } else if TIMES.contains(&name) {
        epoch_of(value).map(Value::from)
    } else {
        None
    };
    parsed.unwrap_or_else(|| Value::from(value))
}

/// The CBOR path's answer to `operation`, written as the query protocol's XML.
pub(super) fn answered(operation: &str, mut answer: Answer) -> Answer {
    let body = cbor::decode(&answer.body).unwrap_or(Value::Null);
    answer.headers.remove("smithy-protocol");
    answer
        .headers
        .insert("content-type", HeaderValue::from_static("text/xml"));
    let xml = if answer.status == StatusCode::OK {
        format!(
            "<{operation}Response xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\"><{operation}Result>{}</{operation}Result>{METADATA}</{operation}Response>",
            elements(&body, "")
        )
    } else {
        let code = body["__type"].as_str().unwrap_or_default();
        let code = code.rsplit_once('#').map_or(code, |(_, c)| c);
        let message = body["message"].as_str().unwrap_or_default();
        format!(
            "<ErrorResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\"><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>local</RequestId></ErrorResponse>",
            escaped(code),
            escaped(message)
        )
    };
    answer.body = Bytes::from(xml);
    answer
}

const METADATA: &str = "<ResponseMetadata><RequestId>local</RequestId></ResponseMetadata>";

/// `value`'s members as elements; `name` is the member `value` is (its times are ISO 8601).
fn elements(value: &Value, name: &str) -> String {
    match value {
        Value::Object(members) => members
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| format!("<{k}>{}</{k}>", elements(v, k)))
            .collect(),
        Value::Array(items) => items
            .iter()
            .map(|item| format!("<member>{}</member>", elements(item, name)))
            .collect(),
        Value::Number(n) if name.ends_with("Timestamp") || name == "Timestamps" => {
            rfc3339(n.as_f64().unwrap_or_default() as u64)
        }
        Value::String(s) => escaped(s),
        other => other.to_string(),
    }
}

fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_form_reads_as_the_shapes_json_carries() {
        let form = b"Action=GetMetricData&Version=2010-08-01&StartTime=2026-12-07T14%3A00%3A00Z&MetricDataQueries.member.1.Id=a&MetricDataQueries.member.1.MetricStat.Period=60&MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Name=FunctionName&MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Value=f&AlarmNames.member.1=x";
        let (operation, input) = input(form).unwrap();
        assert_eq!(operation, "GetMetricData");
        assert_eq!(
            input["StartTime"],
            json!(epoch_of("2026-12-07T14:00:00Z").unwrap())
        );
        assert_eq!(
            input["MetricDataQueries"][0],
            json!({"Id": "a", "MetricStat": {"Period": 60, "Metric": {"Dimensions": [{"Name": "FunctionName", "Value": "f"}]}}})
        );
        assert_eq!(input["AlarmNames"], json!(["x"]));
    }

    #[test]
    fn an_answer_writes_lists_as_members_and_times_in_iso_8601() {
        let body = json!({"MetricAlarms": [{"AlarmName": "a<b", "StateUpdatedTimestamp": 0, "Threshold": 1.5}]});
        let xml = elements(&body, "");
        assert_eq!(
            xml,
            "<MetricAlarms><member><AlarmName>a&lt;b</AlarmName><StateUpdatedTimestamp>1970-01-01T00:00:00Z</StateUpdatedTimestamp><Threshold>1.5</Threshold></member></MetricAlarms>"
        );
    }
}
