//! What a verb prints: its result once on stdout (text, or JSON with `schema_version`, as
//! `docs/output.schema.json` describes it), secrets redacted; and, after a verb that may move
//! green, the true statement of what green serves and whether the run moved it.
use anyhow::Result;
use serde::Serialize;

use bgd_aws::SdkCloud;
use bgd_core::{
    cloud::Functions,
    ledger::VersionRecord,
    outcome::{Exit, Green, Served, exit_of, refuse},
    pipeline::{self, Ctx},
    secret::redact,
};

/// What green serves now: where it routes and its main version's build record.
async fn read_green(ctx: &Ctx<SdkCloud>) -> Result<Option<Served>, String> {
    let function = ctx.function();
    let alias = match ctx.cloud.get_alias(function, pipeline::GREEN).await {
        Err(e) if e.is_not_found() => return Ok(None),
        other => other.map_err(|e| format!("{e}"))?,
    };
    let record = match ctx.cloud.get_version(function, &alias.target.version).await {
        Ok(v) => VersionRecord::parse(&v.description).ok(),
        Err(e) => return Err(format!("{e}")),
    };
    Ok(Some(Served {
        target: alias.target,
        git_sha: record.as_ref().map(|r| r.git_sha.clone()),
        build_id: record.and_then(|r| r.build_id),
    }))
}

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

/// Runs a verb that may move green, then reads green and states what it serves and whether
/// this run moved it: on stderr, and as `green` in the result (`--json` prints a result on
/// failure too). A failure after this run moved green exits 3 and names the way back.
pub(crate) async fn stating_green<T: Serialize + std::fmt::Display>(
    ctx: &Ctx<SdkCloud>,
    json: bool,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<()> {
    let before = read_green(ctx).await.ok().flatten().map(|s| s.target);
    let result = work.await;
    let writes = ctx.green_writes.lock().expect("green_writes").clone();
    let green = Green::judge(before, read_green(ctx).await, &writes);
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
            let error = match green.put_back() {
                // A revert put green back on the old version alone, as exit 7 says, even when
                // the run first settled a split another run left (green then differs from
                // how the run found it): `rollback --to` that version would change nothing.
                _ if exit_of(&error) == Exit::RolledBack => error,
                Some(back) => refuse(
                    Exit::GreenMoved,
                    format!("{green}; `{back}` puts it back: {error:#}"),
                ),
                None if green.maybe_moved_by_this_run() => {
                    refuse(Exit::GreenMoved, format!("{green}: {error:#}"))
                }
                None => error,
            };
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

/// A result as `--json` prints it: its own fields and `schema_version`.
#[derive(Serialize)]
struct Versioned<'a, T> {
    schema_version: u32,
    #[serde(flatten)]
    result: &'a T,
}

/// Prints `result` as JSON on stdout, secrets redacted.
pub(crate) fn print_json<T: Serialize>(result: &T) -> Result<()> {
    let versioned = Versioned {
        schema_version: SCHEMA_VERSION,
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
