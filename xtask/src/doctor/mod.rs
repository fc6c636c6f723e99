//! `cargo xtask doctor`: checks an account's set-up against deploy.toml and the GitHub
//! repository (the OIDC provider, the deploy role's trust and policy, the region, the
//! provisioned stack) with reads only, and says for each finding what to run or change.
mod account;
mod grants;
mod stack;

use std::fmt;

use anyhow::Result;
use bgd_core::config::Config;
use serde::Serialize;

use crate::flags;
use bgd_aws::{Audit, environment_region};
use bgd_core::{
    cloud::CloudError,
    outcome::{Exit, refuse},
    pipeline::{Cloud, Ctx},
    secret::redact,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Verdict {
    Ok,
    /// Something to fix before deploys work (or to stop trusting too much).
    Finding,
}

/// One check: what it found and, for a finding, what to run or change.
#[derive(Debug, Serialize)]
pub(crate) struct Check {
    pub check: &'static str,
    pub verdict: Verdict,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    fn ok(check: &'static str, detail: String) -> Self {
        Self {
            check,
            verdict: Verdict::Ok,
            detail,
            fix: None,
        }
    }

    fn finding(check: &'static str, detail: String, fix: String) -> Self {
        Self {
            check,
            verdict: Verdict::Finding,
            detail,
            fix: Some(fix),
        }
    }

    /// A read that failed is a finding too: doctor could not vouch for it.
    fn unreadable(check: &'static str, error: &CloudError) -> Self {
        let fix = match error.operation.iam_action() {
            Some(action) => format!("run doctor with credentials that may read it ({action})"),
            None => "run doctor with credentials for this account".into(),
        };
        Self::finding(check, format!("could not read: {error}"), fix)
    }
}

/// The deploy role and the GitHub subject its trust must name.
pub(crate) struct Options {
    pub role: String,
    pub repo: Option<String>,
    pub environments: Vec<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Report {
    pub checks: Vec<Check>,
    pub findings: usize,
    /// Always 0: doctor only reads (the write meter counts what the SDK sent).
    pub write_calls: usize,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for check in &self.checks {
            let verdict = match check.verdict {
                Verdict::Ok => "ok     ",
                Verdict::Finding => "FINDING",
            };
            writeln!(f, "{verdict} {}: {}", check.check, check.detail)?;
            if let Some(fix) = &check.fix {
                writeln!(f, "        fix: {fix}")?;
            }
        }
        writeln!(f, "{} findings", self.findings)
    }
}

/// Every check, in the order a new account meets them.
pub(crate) async fn run<C: Cloud + Audit>(ctx: &Ctx<C>, options: &Options) -> Result<Report> {
    let api = ctx.find_api().await?;
    let mut checks = vec![region(&ctx.config.project.region).await];
    checks.extend(
        account::checks(
            &ctx.cloud,
            &ctx.config,
            &ctx.account,
            api.as_ref().map(|a| a.id.as_str()),
            options,
        )
        .await,
    );
    checks.extend(stack::checks(ctx, api.as_ref()).await);
    let findings = checks
        .iter()
        .filter(|c| c.verdict == Verdict::Finding)
        .count();
    Ok(Report {
        checks,
        findings,
        write_calls: 0,
    })
}

/// deploy.toml's region is the one every ARN, URL and policy names; a different region in the
/// environment is what the aws CLI (and each fix printed here) would act on.
async fn region(configured: &str) -> Check {
    const NAME: &str = "region";
    match environment_region().await {
        Some(other) if other != configured => Check::finding(
            NAME,
            format!(
                "deploy.toml says {configured}, the environment or profile says {other}: xtask uses {configured}, the aws CLI (and this page's fixes) {other}"
            ),
            format!(
                "export AWS_REGION={configured} (and the repository variable AWS_REGION, which deploy.yml passes to configure-aws-credentials)"
            ),
        ),
        Some(_) => Check::ok(
            NAME,
            format!("{configured} in deploy.toml and the environment"),
        ),
        None => Check::ok(
            NAME,
            format!("{configured} (deploy.toml; the environment names none)"),
        ),
    }
}

impl flags::Doctor {
    pub async fn run(&self, global: &flags::Global, config: Config) -> Result<()> {
        if let Some(repo) = &self.repo {
            crate::iam::check_subject(repo, &self.environment)?;
        }
        let ctx = crate::verbs::connect(global, config).await?;
        let role = match &self.role {
            // An ARN names the role after its last `/` (roles may have paths).
            Some(role) => role.rsplit('/').next().unwrap_or(role).to_owned(),
            None => format!("{}-deploy", ctx.config.project.name),
        };
        let options = Options {
            role,
            repo: self.repo.clone(),
            environments: self.environment.clone(),
        };
        let mut report = run(&ctx, &options).await?;
        report.write_calls = ctx.cloud.write_calls();
        if global.json {
            println!("{}", redact(&serde_json::to_string_pretty(&report)?));
        } else {
            print!("{}", redact(&report.to_string()));
        }
        if report.findings > 0 {
            return Err(refuse(
                Exit::Findings,
                format!(
                    "doctor: {} findings, each with what to run or change",
                    report.findings
                ),
            ));
        }
        Ok(())
    }
}
