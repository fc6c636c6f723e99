//! The conformance suite's model of AWS in memory (`bgd_rules::conformance`): each call of a
//! case made on a world of its own, without faults, on virtual time. A call the pipeline makes
//! goes through its traits, the result read back as the wire answer the AWS boundary
//! (`bgd-aws`) would have read it from (an image in a version ⇐ `Code.ResolvedImageUri`, no
//! statement ⇐ GetPolicy's 404), an error as the status and code of its kind; a call it does
//! not make (DeleteAlias, Publish=true, UpdateStage, the alarms, IAM one call at a time…) goes
//! to the in-memory AWS's own operation of that name, which answers as the wire does. One file
//! per service: `lambda.rs`, `gateway.rs` (API Gateway, CloudWatch), `account.rs` (STS, ECR,
//! IAM).
use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, MutexGuard},
};

use anyhow::Result;
use rand::{SeedableRng, rngs::SmallRng};
use serde_json::{Value, json};
use tokio::sync::Notify;

use super::{
    actor::Role,
    aws::Refused,
    cloud::SimCloud,
    fault::Rates,
    world::{ACCOUNT, World},
};
use bgd_core::cloud::{CloudError, ErrorKind};
use bgd_rules::{
    Delays,
    conformance::{Answer, Case, Model, Verdict, function_of, run, vars},
};

mod account;
mod gateway;
mod lambda;
#[cfg(test)]
mod tests;

/// The sim's region: every ARN it answers names it.
const REGION: &str = "us-east-1";

/// A model's answer to one call: the status and body written, or the error of its kind.
type Reply = Result<(u16, Value), CloudError>;

/// The services, each answering its calls (`None`: not its call) and naming its errors its way.
#[derive(Debug, Clone, Copy)]
enum Service {
    Lambda,
    ApiGateway,
    Ecr,
    Other,
}

/// Runs every case on a fresh world, in order.
pub fn conformance(cases: &[Case], delays: Delays) -> Result<Vec<Verdict>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()?;
    Ok(cases
        .iter()
        .enumerate()
        .map(|(seed, case)| {
            runtime.block_on(async {
                let mut model = SimModel::new(seed as u64, delays);
                run(&mut model, case).await
            })
        })
        .collect())
}

struct SimModel {
    cloud: SimCloud,
    delays: Delays,
}

impl SimModel {
    fn new(seed: u64, delays: Delays) -> Self {
        let mut world = World::new(seed, Rates::draw(&mut SmallRng::seed_from_u64(seed)));
        world.delays = delays;
        world.alias_ms = 0;
        let cloud = SimCloud {
            world: Arc::new(Mutex::new(world)),
            actor: 0,
            role: Role::Provision,
            crashed: Arc::new(Notify::new()),
        };
        Self { cloud, delays }
    }

    /// The world, for an operation the traits do not make.
    fn world(&self) -> MutexGuard<'_, World> {
        self.cloud.world()
    }

    async fn answer(&self, call: &str, i: &Value) -> Option<(Service, Reply)> {
        if let Some(reply) = self.answer_lambda(call, i).await {
            return Some((Service::Lambda, reply));
        }
        if let Some(reply) = self.answer_gateway(call, i).await {
            return Some((Service::ApiGateway, reply));
        }
        let reply = self.answer_account(call, i).await?;
        let ecr = i.get("repositoryName").is_some() || i.get("repositoryNames").is_some();
        Some((if ecr { Service::Ecr } else { Service::Other }, reply))
    }
}

/// A refusal written as the wire carries it: the code in `__type`, as AWS JSON 1.1 does.
fn refusal(status: u16, code: &str) -> (u16, Value) {
    (status, json!({ "__type": code }))
}

/// An operation's own answer, or its refusal as the wire carries it.
fn wire(answer: Result<(u16, Value), Refused>) -> Reply {
    Ok(answer.unwrap_or_else(|r| (r.status, json!({"__type": r.code, "message": r.message}))))
}

/// How a service names an error of each kind.
fn named(service: Service, kind: ErrorKind) -> (u16, Option<&'static str>) {
    match (service, kind) {
        (Service::ApiGateway, ErrorKind::NotFound) => (404, Some("NotFoundException")),
        (Service::ApiGateway, ErrorKind::Conflict) => (409, Some("ConflictException")),
        // API Gateway's client errors are all BadRequestException.
        (Service::ApiGateway, ErrorKind::Other) => (400, Some("BadRequestException")),
        // ECR refuses a missing repository as a client error.
        (Service::Ecr, ErrorKind::NotFound) => (400, Some("RepositoryNotFoundException")),
        (_, ErrorKind::NotFound) => (404, Some("ResourceNotFoundException")),
        (_, ErrorKind::Conflict) => (409, Some("ResourceConflictException")),
        (_, ErrorKind::PreconditionFailed) => (412, Some("PreconditionFailedException")),
        (_, ErrorKind::AccessDenied) => (403, Some("AccessDeniedException")),
        (_, ErrorKind::NotReady) => (400, Some("InvalidParameterValueException")),
        // Only the kind is kept: a client error, its code unknown.
        (_, ErrorKind::Other) => (400, None),
    }
}

impl Model for SimModel {
    fn name(&self) -> &str {
        "sim"
    }

    fn begin(&mut self, case: &Case) -> BTreeMap<String, String> {
        let role = format!("arn:aws:iam::{ACCOUNT}:role/conformance");
        vars(&function_of(case), REGION, "us-west-2", ACCOUNT, &role)
    }

    async fn call(&mut self, call: &str, input: &Value) -> Option<Answer> {
        let (service, reply) = self.answer(call, input).await?;
        Some(match reply {
            Ok((status, body)) => Answer {
                status,
                error: (status >= 400)
                    .then(|| body["__type"].as_str().map(str::to_owned))
                    .flatten(),
                body,
            },
            Err(e) => {
                let (status, code) = named(service, e.kind);
                Answer {
                    status,
                    error: code.map(str::to_owned),
                    body: json!({"message": e.to_string()}),
                }
            }
        })
    }

    async fn settle(&mut self) {
        let wait = self.delays.pending_ms + self.delays.update_ms + 100;
        tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
    }
}
