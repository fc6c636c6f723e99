//! Conformance: answers recorded from the real AWS service, each case with its source, replayed
//! against every model of AWS the project has (the local cloud through the AWS SDK over HTTP,
//! the simulation's in-memory AWS through the pipeline's traits and its own operations), so
//! neither can drift from AWS or from the other. The cases are data
//! (`tests/conformance/cases/*.json`, read by `cargo xtask conformance`); a model only says how
//! it answers one call ([`Model`]); judging the answer against the recording is here, once.
//!
//! A case: `name`, `source` (where the recorded answer comes from: a LocalStack snapshot key, an
//! AWS documentation page), what exists before it (`given`: an Active image function, a new one
//! still Pending, a REST API, a repository holding an image, or nothing), its `steps`, and
//! `skip` (model → why it cannot express the case; counted and printed as skipped, never as
//! passed). A step is a call with its input in AWS's API shape (`${fn}`, `${image}`, `${arn}`…
//! and saved values substituted) and the recorded answer: the HTTP status, the error code, and
//! fields by JSON pointer (`/Configuration/State`; `[Key=Value]` picks an array element; a
//! pointer goes on into a string that holds JSON, as GetPolicy's `Policy`). An expected field is
//! a value, `null` (absent), `"<any>"` (present), `"<save:N>"` (present, remembered as N),
//! `"<same:N>"` or `"<new:N>"` (equal to, or present and other than, N). `{"settle": true}` waits
//! until what the model's delays started is over.
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::Delays;

/// The models' delays while the suite runs: short, and the same for both (a case's `settle`
/// waits them out).
pub const DELAYS: Delays = Delays {
    pending_ms: 150,
    update_ms: 150,
    role_ms: 0,
    idle_ms: 15 * 60 * 1000,
    stage_ms: 0,
};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    pub source: String,
    #[serde(default)]
    pub given: Given,
    pub steps: Vec<Step>,
    /// Model name → why it cannot run this case.
    #[serde(default)]
    pub skip: BTreeMap<String, String>,
}

/// What exists when a case begins.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Given {
    /// An image function (`${fn}` running `${image}`), created and settled: Active.
    #[default]
    Active,
    /// The same function just created: still Pending.
    New,
    /// No function by that name.
    Nothing,
    /// A REST API named `${fn}`, its id saved as `${api}`, and no function.
    RestApi,
    /// A repository named `${fn}` holding one image tagged `v1`, pushed over the registry's
    /// own API (what `docker push` does: the pseudo-call `PushImage`), its digest saved as
    /// `${pushed}`; no function.
    Image,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Step {
    Settle {
        settle: bool,
    },
    Call {
        call: String,
        #[serde(default)]
        input: Value,
        expect: Expect,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub status: u16,
    /// The error's code (`x-amzn-errortype`, `Error.Code` in the recording).
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub body: BTreeMap<String, Value>,
}

/// How a model answered one call.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    /// The error code; `None` on success, and where the model keeps only the kind of error
    /// (then the status alone is judged).
    pub error: Option<String>,
    pub body: Value,
}

/// One model of AWS, as the runner drives it.
pub trait Model {
    /// Its name in reports and in a case's `skip`.
    fn name(&self) -> &str;
    /// The values a case's input may name (`fn`, `image`, `image2`, `role`, `region`,
    /// `account`, `arn`…), for the case about to run (a fresh function name per case).
    fn begin(&mut self, case: &Case) -> BTreeMap<String, String>;
    /// The answer to `call` with `input`; `None` when the model has no such call.
    fn call(&mut self, call: &str, input: &Value) -> impl Future<Output = Option<Answer>>;
    /// Waits until every state the model's delays started has settled.
    fn settle(&mut self) -> impl Future<Output = ()>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    Failed(String),
    Skipped(String),
}

/// Runs `case` against `model`.
pub async fn run<M: Model>(model: &mut M, case: &Case) -> Verdict {
    if let Some(why) = case.skip.get(model.name()) {
        return Verdict::Skipped(why.clone());
    }
    let mut saved = model.begin(case);
    if let Err(verdict) = given(model, case.given, &mut saved).await {
        return verdict;
    }
    for (i, s) in case.steps.iter().enumerate() {
        match s {
            Step::Settle { .. } => model.settle().await,
            Step::Call {
                call,
                input,
                expect,
            } => {
                if let Err(verdict) = step(model, call, input, expect, &mut saved).await {
                    return match verdict {
                        Verdict::Failed(why) => Verdict::Failed(format!("step {i} {call}: {why}")),
                        other => other,
                    };
                }
            }
        }
    }
    Verdict::Passed
}

/// One call that makes what a case's `given` says exists.
struct Setup {
    call: &'static str,
    input: Value,
    status: u16,
    body: BTreeMap<String, Value>,
    /// A model without this call needs none.
    optional: bool,
}

fn setup(call: &'static str, input: Value, status: u16, saving: &[(&str, &str)]) -> Setup {
    let body = saving
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
        .collect();
    Setup {
        call,
        input,
        status,
        body,
        optional: false,
    }
}

/// The calls that make what `given` says exists.
fn setups(given: Given) -> Vec<Setup> {
    use serde_json::json;
    match given {
        Given::Nothing => Vec::new(),
        Given::RestApi => {
            // A deployment needs a method with an integration ("The REST API doesn't contain
            // any methods"): `GET /`, a MOCK, as LocalStack's fixture makes it.
            let on_root = json!({
                "restApiId": "${api}", "resourceId": "${root}", "httpMethod": "GET",
                "authorizationType": "NONE", "type": "MOCK",
            });
            let saved = [("/id", "<save:api>"), ("/rootResourceId", "<save:root>")];
            vec![
                setup("CreateRestApi", json!({"name": "${fn}"}), 201, &saved),
                Setup {
                    optional: true,
                    ..setup("PutMethod", on_root.clone(), 201, &[])
                },
                Setup {
                    optional: true,
                    ..setup("PutIntegration", on_root, 201, &[])
                },
            ]
        }
        Given::Image => vec![
            setup(
                "CreateRepository",
                json!({"repositoryName": "${fn}"}),
                200,
                &[],
            ),
            setup(
                "PushImage",
                json!({"repositoryName": "${fn}", "imageTag": "v1"}),
                200,
                &[("/imageDigest", "<save:pushed>")],
            ),
        ],
        Given::Active | Given::New => {
            let create = json!({
                "FunctionName": "${fn}", "Role": "${role}", "PackageType": "Image",
                "Code": {"ImageUri": "${image}"},
            });
            vec![setup("CreateFunction", create, 201, &[])]
        }
    }
}

/// Makes what the case's `given` says exists.
async fn given<M: Model>(
    model: &mut M,
    given: Given,
    saved: &mut BTreeMap<String, String>,
) -> Result<(), Verdict> {
    for s in setups(given) {
        let expect = Expect {
            status: s.status,
            error: None,
            body: s.body,
        };
        match step(model, s.call, &s.input, &expect, saved).await {
            Err(Verdict::Skipped(_)) if s.optional => {}
            Err(verdict) => return Err(verdict),
            Ok(()) => {}
        }
    }
    if given == Given::Active {
        model.settle().await;
    }
    Ok(())
}

async fn step<M: Model>(
    model: &mut M,
    call: &str,
    input: &Value,
    expect: &Expect,
    saved: &mut BTreeMap<String, String>,
) -> Result<(), Verdict> {
    let input = substituted(input, saved);
    let Some(answer) = model.call(call, &input).await else {
        return Err(Verdict::Skipped(format!("{} has no {call}", model.name())));
    };
    let text = |s: &str| match substituted(&Value::from(s), saved) {
        Value::String(s) => s,
        _ => unreachable!("a string stays a string"),
    };
    let expect = Expect {
        body: expect
            .body
            .iter()
            .map(|(pointer, want)| (text(pointer), substituted(want, saved)))
            .collect(),
        ..expect.clone()
    };
    judge(&expect, &answer, saved).map_err(Verdict::Failed)
}

/// `${NAME}` in every string of `input` replaced by its value.
fn substituted(input: &Value, vars: &BTreeMap<String, String>) -> Value {
    match input {
        Value::String(s) => {
            let mut out = s.clone();
            for (name, value) in vars {
                out = out.replace(&format!("${{{name}}}"), value);
            }
            Value::String(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| substituted(v, vars)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), substituted(v, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A case's input as every model reads it: the object at `pointer` (`/Environment/Variables`,
/// `/RoutingConfig/AdditionalVersionWeights`, `/variables`), each value as `read` reads it;
/// `None` when the input has none.
pub fn map_at<T>(
    input: &Value,
    pointer: &str,
    read: impl Fn(&Value) -> Option<T>,
) -> Option<BTreeMap<String, T>> {
    let map = input.pointer(pointer)?.as_object()?;
    Some(
        map.iter()
            .filter_map(|(k, v)| Some((k.clone(), read(v)?)))
            .collect(),
    )
}

/// UpdateStage's `patchOperations`: each one's `op`, `path` and `value`.
pub fn patches(input: &Value) -> Vec<[Option<&str>; 3]> {
    let ops = input["patchOperations"].as_array().into_iter().flatten();
    ops.map(|op| ["op", "path", "value"].map(|k| op[k].as_str()))
        .collect()
}

/// The function (and repository, and role) a case works on: its own, within Lambda's 64
/// characters and ECR's repository name pattern.
pub fn function_of(case: &Case) -> String {
    // FNV-1a: the same name for the same case in every model and run.
    let hash = case.name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let short: String = case.name.chars().take(40).collect();
    // One hyphen between words: ECR's repository names allow no `--`.
    let short = short.replace('_', "-");
    format!("c-{}-{:08x}", short.trim_end_matches('-'), hash as u32)
}

/// The values every case's input may name, for one model.
pub fn vars(
    function: &str,
    region: &str,
    other_region: &str,
    account: &str,
    role: &str,
) -> BTreeMap<String, String> {
    let repository = format!("{account}.dkr.ecr.{region}.amazonaws.com/conformance");
    BTreeMap::from([
        ("fn".into(), function.to_owned()),
        ("region".into(), region.to_owned()),
        ("other_region".into(), other_region.to_owned()),
        ("account".into(), account.to_owned()),
        ("role".into(), role.to_owned()),
        (
            "arn".into(),
            format!("arn:aws:lambda:{region}:{account}:function:{function}"),
        ),
        (
            "other_arn".into(),
            format!("arn:aws:lambda:{other_region}:{account}:function:{function}"),
        ),
        (
            "image".into(),
            format!("{repository}@sha256:{}", "a".repeat(64)),
        ),
        (
            "image2".into(),
            format!("{repository}@sha256:{}", "b".repeat(64)),
        ),
        ("sha".into(), "a".repeat(64)),
        ("sha2".into(), "b".repeat(64)),
    ])
}

mod judge;
#[cfg(test)]
mod tests;

pub use judge::judge;
