//! The repository policy Lambda needs to pull a function's image, put into whatever policy the
//! repository has: one rule for every model of the account (`bgd-aws` sends it, `bgd-sim`
//! applies it).
use serde_json::{Value, json};

/// The Sid of the statement that lets Lambda pull the function's images.
pub const LAMBDA_PULL: &str = "LambdaECRImageRetrievalPolicy";

/// The repository's `policy` (if any) with our statement put in by its Sid, every other
/// statement kept: SetRepositoryPolicy replaces the whole policy
/// (<https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_SetRepositoryPolicy.html>),
/// so a provision removed what an administrator had added, a cross-account pull say
/// (aws-audit-3 N7).
pub fn with_lambda_pull(policy: Option<Value>, function_arn: &str) -> Value {
    let ours = json!({
        "Sid": LAMBDA_PULL,
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        // The function and its versions and aliases, no other function: `NAME*` also let
        // `NAME-other` pull (security-audit-3 N15).
        "Condition": {"ArnLike": {"aws:sourceArn": [function_arn, format!("{function_arn}:*")]}},
    });
    let mut policy = policy
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({"Version": "2012-10-17"}));
    // IAM's grammar allows one statement as an object, or a list of them.
    let others = match policy["Statement"].take() {
        Value::Array(statements) => statements,
        Value::Null => Vec::new(),
        one => vec![one],
    };
    let statements: Vec<Value> = others
        .into_iter()
        .filter(|statement| statement["Sid"] != LAMBDA_PULL)
        .chain([ours])
        .collect();
    policy["Statement"] = Value::Array(statements);
    policy
}
