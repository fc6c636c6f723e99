//! What a verb prints: its result once on stdout (text, or JSON with `schema_version`, as
//! `docs/output.schema.json` describes it), secrets redacted; and, after a verb that may move
//! green, the true statement of what green serves and whether the run moved it.
use anyhow::Result;
use serde::Serialize;

use bgd_aws::SdkCloud;
use bgd_core::{
    config::Placement,
    outcome::{Green, exit_of},
    pipeline::{Ctx, statement},
    secret::redact,
};

/// A report and, beside it, what green serves after the run.
#[derive(Serialize)]
struct Stated<'a, T> {
    #[serde(flatten)]
    report: &'a T,
    green: &'a Green,
}

impl<T: std::fmt::Display> std::fmt::Display for Stated<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.report)?;
        writeln!(f, "{}", self.green)
    }
}

/// Runs a verb that may move green, then states what green serves and whether this run moved
/// it (`pipeline::statement`): on stderr, and as `green` in the result (`--json` prints a
/// result on failure too). A failure after this run moved green exits 3 and names the way back.
pub(crate) async fn stating_green<T: Serialize + std::fmt::Display>(
    ctx: &Ctx<SdkCloud>,
    json: bool,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<()> {
    let (result, green) = statement::stating_green(ctx, work).await;
    // Green's read error is AWS's text, which may quote a value (security-audit-3 #1).
    eprintln!("{}", redact(&green.to_string()));
    match result {
        Ok(report) => print(
            &Stated {
                report: &report,
                green: &green,
            },
            json,
        ),
        Err(error) => {
            if json {
                print_json(&serde_json::json!({
                    "outcome": "failed",
                    "error": format!("{error:#}"),
                    "exit_code": exit_of(&error).code(),
                    "green": green,
                }))?;
            }
            Err(error)
        }
    }
}

/// The version of what `--json` prints, described by `docs/output.schema.json`; raised when a
/// field is removed or changes type.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// A result as `--json` prints it: its own fields and `schema_version`, and with `--env` the
/// environment and region it is about.
#[derive(Serialize)]
struct Versioned<'a, T> {
    schema_version: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    environment: Option<Place>,
    #[serde(flatten)]
    result: &'a T,
}

#[derive(Clone, Serialize)]
struct Place {
    name: String,
    account: String,
    region: String,
}

/// The environment and region the verb now runs in (`places::each` sets it before each
/// region's run): one process, one verb, so one value at a time.
static PLACE: std::sync::Mutex<Option<Place>> = std::sync::Mutex::new(None);

pub(crate) fn place(placement: Option<Placement>) {
    *PLACE.lock().expect("PLACE") = placement.map(|p| Place {
        name: p.environment,
        account: p.account,
        region: p.region,
    });
}

/// Prints `result` as JSON on stdout, secrets redacted.
pub(crate) fn print_json<T: Serialize>(result: &T) -> Result<()> {
    let versioned = Versioned {
        schema_version: SCHEMA_VERSION,
        environment: PLACE.lock().expect("PLACE").clone(),
        result,
    };
    println!("{}", redact(&serde_json::to_string_pretty(&versioned)?));
    Ok(())
}

/// Prints the result once on stdout: JSON with `--json`, else its Display.
pub(crate) fn print<T: Serialize + std::fmt::Display>(value: &T, json: bool) -> Result<()> {
    if json {
        print_json(value)?;
    } else {
        print!("{}", redact(&value.to_string()));
    }
    Ok(())
}

#[derive(Serialize)]
pub(crate) struct Message {
    pub(crate) message: String,
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.message)
    }
}
