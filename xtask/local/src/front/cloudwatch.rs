//! CloudWatch on the local cloud, served by the front itself: the SDK speaks Smithy RPC v2 CBOR
//! to it, which moto does not (and other clients AWS JSON 1.0 or query). GetMetricData answers
//! Lambda's `Invocations` and `Errors` by `FunctionName`, with `Resource` (`function:alias`)
//! and with `ExecutedVersion`, from the data plane's counts (what Lambda publishes to
//! CloudWatch); alarms (PutMetricAlarm, SetAlarmState, DescribeAlarms, DeleteAlarms, by
//! `bgd_rules::cloudwatch`) keep their states in the front's books. Other operations are
//! refused by name.

use std::collections::BTreeMap;

use axum::{
    body::Bytes,
    http::{HeaderMap, HeaderValue, StatusCode},
};
use serde_json::{Value, json};

use super::{Answer, Call, Front, cbor, query};
use crate::lifecycle::LocalCloud;

/// The Rust SDK speaks Smithy RPC v2 CBOR (`/service/…/operation/OP`); boto3 and the aws CLI
/// speak AWS JSON 1.0 (`x-amz-target: GraniteServiceVersion20100801.OP`), which botocore
/// prefers among CloudWatch's protocols (its model lists `smithy-rpc-v2-cbor`, `json`, `query`;
/// `PRIORITY_ORDERED_SUPPORTED_PROTOCOLS` puts `json` first). Both carry the same shapes, with
/// timestamps as epoch seconds: a JSON 1.0 call is answered by the CBOR path, transcoded. A
/// form is the query protocol (`query.rs`), answered by the same path in XML.
pub(super) async fn handle(front: &Front, call: Call) -> Answer {
    let json_operation = call
        .headers
        .get("x-amz-target")
        .and_then(|t| t.to_str().ok())
        .and_then(|t| t.strip_prefix("GraniteServiceVersion20100801."))
        .map(str::to_owned);
    let form = call
        .headers
        .get("content-type")
        .and_then(|t| t.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if form && json_operation.is_none() {
        let Some((operation, input)) = query::input(&call.body) else {
            return query::answered("", error("MissingAction", "the form names no Action"));
        };
        let answer = serve(front, &call, &operation, &input).await;
        return query::answered(&operation, answer);
    }
    let Some(operation) = json_operation else {
        let path = call.target.split('?').next().unwrap_or_default();
        let operation = path.rsplit_once("/operation/").map_or("", |(_, op)| op);
        let Ok(input) = cbor::decode(&call.body) else {
            return error("SerializationException", "the body is not CBOR");
        };
        return serve(front, &call, operation, &input).await;
    };
    let input = if call.body.is_empty() {
        Ok(json!({}))
    } else {
        serde_json::from_slice(&call.body)
    };
    let answer = match input {
        Ok(input) => serve(front, &call, &operation, &input).await,
        Err(_) => error("SerializationException", "the body is not JSON"),
    };
    as_json(answer)
}

/// A CBOR answer as AWS JSON 1.0 writes it.
fn as_json(mut answer: Answer) -> Answer {
    let body = cbor::decode(&answer.body).unwrap_or(Value::Null);
    answer.headers.remove("smithy-protocol");
    answer.headers.insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    answer.body = Bytes::from(body.to_string());
    answer
}

async fn serve(front: &Front, call: &Call, operation: &str, input: &Value) -> Answer {
    match operation {
        "GetMetricData" => front.metric_data(call, input).await,
        "PutMetricAlarm" | "SetAlarmState" | "DeleteAlarms" | "DescribeAlarms" => {
            front.alarms(call, operation, input).await
        }
        other => error(
            "UnknownOperationException",
            &format!("the local cloud does not serve CloudWatch's {other}"),
        ),
    }
}

impl Front {
    /// GetMetricData of Lambda's `Invocations` and `Errors`, from the data plane's counts: one
    /// datapoint for the window, none for a window without invocations; of the caller's
    /// account and region alone.
    async fn metric_data(&self, call: &Call, input: &Value) -> Answer {
        let (start, queries) = match metric_queries(input) {
            Ok(checked) => checked,
            Err((code, message)) => return error(code, &message),
        };
        let mut read: BTreeMap<(String, Option<String>), BTreeMap<String, local_gateway::Counts>> =
            BTreeMap::new();
        let mut results = Vec::new();
        for query in queries {
            let metric = &query["MetricStat"]["Metric"];
            let name = metric["MetricName"].as_str().unwrap_or_default();
            let mut result = json!({
                "Id": query["Id"], "Label": name, "Timestamps": [], "Values": [],
                "StatusCode": "Complete"
            });
            if let Some((function, qualifier, version)) = lambda_series(metric) {
                let key = (function.to_owned(), qualifier.map(str::to_owned));
                if !read.contains_key(&key) {
                    match self.counts(call, function, qualifier, start as u64).await {
                        Ok(counts) => read.insert(key.clone(), counts),
                        Err(e) => return error("InternalServiceError", &format!("{e:#}")),
                    };
                }
                let counts = read[&key]
                    .iter()
                    .filter(|(v, _)| version.is_none_or(|wanted| wanted == v.as_str()))
                    .fold(local_gateway::Counts::default(), |a, (_, c)| {
                        local_gateway::Counts {
                            invocations: a.invocations + c.invocations,
                            errors: a.errors + c.errors,
                        }
                    });
                // Lambda publishes no datapoint for a minute without invocations.
                if counts.invocations > 0 {
                    let value = if name == "Errors" {
                        counts.errors
                    } else {
                        counts.invocations
                    };
                    result["Timestamps"] = json!([start]);
                    result["Values"] = json!([value as f64]);
                }
            }
            results.push(result);
        }
        answer(&json!({ "MetricDataResults": results, "Messages": [] }))
    }

    /// The data plane's per-version counts of `function:qualifier` (of all the function's
    /// invocations without one) from `since` on.
    async fn counts(
        &self,
        call: &Call,
        function: &str,
        qualifier: Option<&str>,
        since: u64,
    ) -> anyhow::Result<BTreeMap<String, local_gateway::Counts>> {
        // The gateway starts after the front, on a port `up` records in the state dir.
        let gateway = LocalCloud::at(&self.state_dir).endpoints()?.gateway_url;
        let qualifier = qualifier.map_or(String::new(), |q| format!("&qualifier={q}"));
        let url = format!(
            "{gateway}{}?function={function}{qualifier}&since={since}&account={}&region={}",
            local_gateway::METRICS_PATH,
            call.account,
            call.region
        );
        let answer = self.http.get(&url).send().await?.error_for_status()?;
        Ok(answer.json().await?)
    }
}

/// A refusal: CloudWatch's error code and message.
type Refused = (&'static str, String);

/// A GetMetricData call's window start and queries, as CloudWatch checks them
/// (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html>):
/// StartTime before EndTime, 1 to 500 queries, each Id starting with a lowercase letter.
fn metric_queries(input: &Value) -> Result<(f64, &Vec<Value>), Refused> {
    let (Some(start), Some(end)) = (input["StartTime"].as_f64(), input["EndTime"].as_f64()) else {
        return Err((
            "ValidationError",
            "StartTime and EndTime are required".into(),
        ));
    };
    if start >= end {
        return Err((
            "ValidationError",
            "The parameter StartTime must be less than the parameter EndTime.".into(),
        ));
    }
    let queries = match input["MetricDataQueries"].as_array() {
        Some(queries) if (1..=500).contains(&queries.len()) => queries,
        _ => {
            return Err((
                "ValidationError",
                "MetricDataQueries: 1 to 500 queries".into(),
            ));
        }
    };
    for query in queries {
        let id = query["Id"].as_str().unwrap_or_default();
        if !id.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err((
                "ValidationError",
                format!("Id {id:?} must start with a lowercase letter"),
            ));
        }
    }
    Ok((start, queries))
}

/// The function, alias and version whose counts a metric names, when it is one Lambda
/// publishes: `Invocations` and `Errors` by FunctionName alone, with Resource
/// (`function:alias`), and with Resource and ExecutedVersion.
fn lambda_series(metric: &Value) -> Option<(&str, Option<&str>, Option<&str>)> {
    let dimension = |wanted: &str| {
        metric["Dimensions"]
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|d| {
                (d["Name"].as_str() == Some(wanted))
                    .then(|| d["Value"].as_str())
                    .flatten()
            })
    };
    let name = metric["MetricName"].as_str().unwrap_or_default();
    let namespace = metric["Namespace"].as_str().unwrap_or_default();
    if namespace != "AWS/Lambda" || !matches!(name, "Invocations" | "Errors") {
        return None;
    }
    let function = dimension("FunctionName")?;
    let qualifier =
        dimension("Resource").map(|r| r.strip_prefix(&format!("{function}:")).unwrap_or(""));
    Some((function, qualifier, dimension("ExecutedVersion")))
}

impl Front {
    /// The alarms' calls, by CloudWatch's rules (`bgd_rules::cloudwatch`), kept per account
    /// and region.
    async fn alarms(&self, call: &Call, operation: &str, input: &Value) -> Answer {
        let now = super::state::now_ms() / 1000;
        let mut books = self.books.lock().await;
        let (region, account) = (&call.region, &call.account);
        let arn = |name: &str| format!("arn:aws:cloudwatch:{region}:{account}:alarm:{name}");
        let prefix = call.scoped("");
        match bgd_rules::cloudwatch::alarms(&mut books.alarms, &prefix, operation, input, now, arn)
        {
            Ok(out) => {
                if operation != "DescribeAlarms" {
                    self.save(&books).await;
                }
                answer(&out)
            }
            Err(refused) => error(refused.code, &refused.message),
        }
    }
}

fn headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/cbor"));
    headers.insert("smithy-protocol", HeaderValue::from_static("rpc-v2-cbor"));
    headers
}

fn answer(value: &Value) -> Answer {
    Answer {
        status: StatusCode::OK,
        headers: headers(),
        body: Bytes::from(cbor::encode(value)),
    }
}

/// CloudWatch's error: its code in the body and, as it is query-compatible, in
/// `x-amzn-query-error` (`Code;Sender`).
fn error(code: &str, message: &str) -> Answer {
    let mut headers = headers();
    if let Ok(value) = HeaderValue::from_str(&format!("{code};Sender")) {
        headers.insert("x-amzn-query-error", value);
    }
    // SetAlarmState and DeleteAlarms of an unknown alarm: HTTP 404
    // (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_SetAlarmState.html).
    let status = match code {
        "InternalServiceError" => StatusCode::INTERNAL_SERVER_ERROR,
        "ResourceNotFound" => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_REQUEST,
    };
    Answer {
        status,
        headers,
        body: Bytes::from(cbor::encode(&json!({
            "__type": format!("com.amazonaws.cloudwatch#{code}"),
            "message": message,
        }))),
    }
}
