//! The REST proxy (v1) event API Gateway sends a Lambda function, its own error answers, and
//! the mapping of the function's proxy response back to HTTP
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html>).
use std::collections::{BTreeMap, HashMap};

use aws_lambda_events::{
    apigw::{ApiGatewayProxyRequest, ApiGatewayProxyRequestContext},
    query_map::QueryMap,
};
use axum::{
    body::{Body, Bytes},
    http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
};
use base64::Engine;
use serde::Deserialize;

/// What the gateway knows about one request besides the HTTP message.
pub(crate) struct Context<'a> {
    pub api_id: &'a str,
    pub account_id: &'a str,
    pub stage: &'a str,
    pub request_id: &'a str,
    /// The matched resource, e.g. `/{proxy+}`.
    pub resource: &'a str,
    /// The path below the stage.
    pub path: &'a str,
    pub path_parameters: &'a BTreeMap<String, String>,
    pub stage_variables: &'a BTreeMap<String, String>,
    pub host: &'a str,
}

/// The event for one request, serialized as the function receives it.
pub(crate) fn proxy_event(
    ctx: &Context<'_>,
    method: &Method,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> serde_json::Result<Vec<u8>> {
    let mut params: HashMap<String, Vec<String>> = HashMap::new();
    let pairs = query.and_then(query_pairs).unwrap_or_default();
    for (name, value) in pairs {
        params.entry(name).or_default().push(value);
    }

    let mut context = ApiGatewayProxyRequestContext::default();
    context.account_id = Some(ctx.account_id.to_owned());
    context.apiid = Some(ctx.api_id.to_owned());
    context.stage = Some(ctx.stage.to_owned());
    context.request_id = Some(ctx.request_id.to_owned());
    context.resource_path = Some(ctx.resource.to_owned());
    context.path = Some(format!("/{}{}", ctx.stage, ctx.path));
    context.http_method = method.clone();
    context.protocol = Some("HTTP/1.1".into());
    context.domain_name = Some(ctx.host.to_owned());
    context.identity.source_ip = Some("127.0.0.1".into());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    context.request_time_epoch = now.as_millis().try_into().unwrap_or(i64::MAX);

    let mut event = ApiGatewayProxyRequest::default();
    event.resource = Some(ctx.resource.to_owned());
    event.path = Some(ctx.path.to_owned());
    event.http_method = method.clone();
    // Both maps: `headers` keeps one value per name, `multiValueHeaders` all of them. JSON
    // holds text only, so a value that is not UTF-8 arrives with replacement characters.
    let headers: HeaderMap = headers
        .iter()
        .filter_map(|(name, value)| {
            let text = String::from_utf8_lossy(value.as_bytes());
            Some((name.clone(), HeaderValue::from_str(&text).ok()?))
        })
        .collect();
    event.multi_value_headers = headers.clone();
    event.headers = headers;
    event.query_string_parameters = QueryMap::from(params.clone());
    event.multi_value_query_string_parameters = QueryMap::from(params);
    event.path_parameters = ctx.path_parameters.clone().into_iter().collect();
    event.stage_variables = ctx.stage_variables.clone().into_iter().collect();
    event.request_context = context;
    // Text bodies pass as they are; anything else base64, as for a binary media type.
    (event.body, event.is_base64_encoded) = match std::str::from_utf8(body) {
        _ if body.is_empty() => (None, false),
        Ok(text) => (Some(text.to_owned()), false),
        Err(_) => (
            Some(base64::engine::general_purpose::STANDARD.encode(body)),
            true,
        ),
    };
    serde_json::to_vec(&event)
}

fn query_pairs(query: &str) -> Option<Vec<(String, String)>> {
    let uri: axum::http::Uri = format!("/?{query}").parse().ok()?;
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .ok()
        .map(|q| q.0)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProxyResponse {
    status_code: u16,
    #[serde(default)]
    headers: Option<HashMap<String, String>>,
    #[serde(default)]
    multi_value_headers: Option<HashMap<String, Vec<String>>>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    is_base64_encoded: Option<bool>,
}

/// The HTTP response for the function's proxy response; `None` when it is malformed (API
/// API Gateway's answer when no stage or route matches.
pub(crate) fn forbidden() -> Response {
    let body = serde_json::json!({"message": "Forbidden"});
    (StatusCode::FORBIDDEN, axum::Json(body)).into_response()
}

/// API Gateway's answer when the integration fails.
pub(crate) fn bad_gateway() -> Response {
    let body = serde_json::json!({"message": "Internal server error"});
    (StatusCode::BAD_GATEWAY, axum::Json(body)).into_response()
}

/// Gateway answers 502 then).
pub(crate) fn http_response(payload: &Bytes) -> Option<Response> {
    let proxy: ProxyResponse = serde_json::from_slice(payload).ok()?;
    let status = StatusCode::from_u16(proxy.status_code).ok()?;
    let body = match (proxy.body, proxy.is_base64_encoded.unwrap_or(false)) {
        (None, _) => Bytes::new(),
        (Some(text), false) => Bytes::from(text),
        (Some(encoded), true) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()?
            .into(),
    };
    let mut headers = HeaderMap::new();
    // API Gateway merges both maps; lambda_http puts everything in `multiValueHeaders`.
    for (name, values) in proxy.multi_value_headers.into_iter().flatten() {
        let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
        for value in values {
            headers.append(&name, HeaderValue::from_str(&value).ok()?);
        }
    }
    for (name, value) in proxy.headers.into_iter().flatten() {
        let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_str(&value).ok()?);
        }
    }
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Some(response)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use axum::{
        body::Bytes,
        http::{HeaderMap, HeaderValue, Method},
    };
    use serde_json::Value;

    use super::{Context, http_response, proxy_event};

    #[test]
    fn the_event_carries_stage_variables_query_headers_and_the_proxy_parameter() {
        let vars = BTreeMap::from([("alias".to_owned(), "blue".to_owned())]);
        let params = BTreeMap::from([("proxy".to_owned(), "version".to_owned())]);
        let ctx = Context {
            api_id: "abc",
            account_id: "123456789012",
            stage: "blue",
            request_id: "r-1",
            resource: "/{proxy+}",
            path: "/version",
            path_parameters: &params,
            stage_variables: &vars,
            host: "127.0.0.1",
        };
        let mut headers = HeaderMap::new();
        headers.append("x-many", "1".parse().unwrap());
        headers.append("x-many", "2".parse().unwrap());
        headers.append("x-bytes", HeaderValue::from_bytes(b"a\xffb").unwrap());
        let event =
            proxy_event(&ctx, &Method::GET, Some("a=1&a=2&b=x%20y"), &headers, b"").unwrap();
        let event: Value = serde_json::from_slice(&event).unwrap();
        assert_eq!(event["stageVariables"]["alias"], "blue");
        assert_eq!(event["requestContext"]["stage"], "blue");
        assert_eq!(event["requestContext"]["requestId"], "r-1");
        assert_eq!(event["requestContext"]["path"], "/blue/version");
        assert_eq!(event["pathParameters"]["proxy"], "version");
        assert_eq!(event["queryStringParameters"]["b"], "x y");
        assert_eq!(
            event["multiValueQueryStringParameters"]["a"],
            serde_json::json!(["1", "2"])
        );
        assert_eq!(
            event["multiValueHeaders"]["x-many"],
            serde_json::json!(["1", "2"])
        );
        assert_eq!(event["headers"]["x-bytes"], "a\u{fffd}b");
        assert_eq!(event["body"], Value::Null);

        let binary = proxy_event(&ctx, &Method::POST, None, &headers, &[0xff, 0x00]).unwrap();
        let binary: Value = serde_json::from_slice(&binary).unwrap();
        assert_eq!(
            (binary["body"].as_str(), binary["isBase64Encoded"].as_bool()),
            (Some("/wA="), Some(true))
        );
    }

    #[test]
    fn both_header_maps_of_a_proxy_response_reach_the_client() {
        let payload = Bytes::from_static(
            br#"{"statusCode":201,"headers":{"a":"1"},"multiValueHeaders":{"b":["2","3"]},"body":"aGk=","isBase64Encoded":true}"#,
        );
        let response = http_response(&payload).unwrap();
        assert_eq!(response.status(), 201);
        assert_eq!(response.headers()["a"], "1");
        assert_eq!(response.headers().get_all("b").iter().count(), 2);
        assert!(http_response(&Bytes::from_static(b"{\"body\":\"no status\"}")).is_none());
        assert!(http_response(&Bytes::from_static(b"not json")).is_none());
    }
}
