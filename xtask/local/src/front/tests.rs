//! How the front reads a request: its SigV4 scope and its URL-encoded form.
use axum::http::{HeaderMap, HeaderValue};

use super::{scope, url_decoded_pairs};

#[test]
fn the_region_and_service_come_from_the_signature_scope() {
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        HeaderValue::from_static(
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/lambda/aws4_request, SignedHeaders=host, Signature=0",
        ),
    );
    assert_eq!(scope(&headers), ("eu-west-1".into(), "lambda".into()));
    assert_eq!(scope(&HeaderMap::new()), (String::new(), String::new()));
}

#[test]
fn form_bodies_are_percent_decoded() {
    let pairs = url_decoded_pairs(b"Action=CreateRole&RoleName=bgd-lambda&Path=%2Fa%2B");
    assert_eq!(pairs[1], ("RoleName".into(), "bgd-lambda".into()));
    assert_eq!(pairs[2], ("Path".into(), "/a+".into()));
}
