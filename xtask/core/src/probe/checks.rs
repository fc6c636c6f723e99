//! The checks of a verification, in the order they run: the self-report names the candidate,
//! blue refuses a request without the token, health and the smoke checks pass. Each is asked
//! again while its answer is not yet the candidate's, until one deadline for them all.
use std::time::Duration;

use tokio::time::Instant;

use super::{
    Answer, Endpoint, Expect, Failure, Http, Prober, SelfReport, matches, parse_report, shown,
};
use crate::config::Smoke;

/// Answers that mean "not yet" rather than "broken": API Gateway's for a stage it does not
/// serve yet, Lambda's while a version is Pending or a permission propagates.
const TRANSIENT: [u16; 3] = [403, 502, 504];
/// How often a check is asked again while an alias move propagates.
const POLL: Duration = Duration::from_millis(250);

impl<H: Http> Prober<H> {
    /// Runs every check against the stage; each is asked again until `patience` passes,
    /// because an alias move takes a moment to reach every API Gateway node.
    pub async fn verify(
        &self,
        endpoint: &Endpoint,
        expect: &Expect,
        smoke: &[Smoke],
        patience: Duration,
    ) -> Result<SelfReport, Failure> {
        let deadline = Instant::now() + patience;
        let report = self
            .check_report(endpoint, expect, deadline, patience)
            .await?;
        let candidate = expect.version.to_string();
        if endpoint.token.is_some() {
            self.check_token(endpoint, &candidate, deadline).await?;
        }
        let health = self.health_check();
        for smoke in std::iter::once(&health).chain(smoke) {
            self.check_smoke(endpoint, smoke, &candidate, deadline)
                .await?;
        }
        Ok(report)
    }

    /// The stage must report the candidate (an alias move, a new stage or a version still
    /// Pending takes a moment): any failure is asked again until `deadline`.
    async fn check_report(
        &self,
        endpoint: &Endpoint,
        expect: &Expect,
        deadline: Instant,
        patience: Duration,
    ) -> Result<SelfReport, Failure> {
        let path = &self.paths.version;
        let asked = until_settled(deadline, move || async move {
            match self.get(endpoint, path, true).await {
                Ok(answer) => {
                    match parse_report(&answer).and_then(|r| matches(&r, expect).map(|()| r)) {
                        Ok(report) => Attempt::Settled(Ok(report)),
                        Err(detail) => Attempt::Unsettled(Err((Some(answer), detail))),
                    }
                }
                Err(detail) => Attempt::Unsettled(Err((None, detail))),
            }
        })
        .await;
        asked.map_err(|(answer, detail)| {
            let check = format!(
                "the stage reports version {}, alias {}, build {}",
                expect.version,
                expect.alias,
                crate::ledger::short(&expect.git_sha)
            );
            let detail = format!("{detail} (still after {} s)", patience.as_secs());
            failure(endpoint, &check, path, answer, detail)
        })
    }

    /// The app itself (its header names the candidate) must refuse a request without the
    /// token: API Gateway's own 403 for a stage it does not serve would prove nothing. An
    /// answer from another version is a node the alias move has not reached yet, asked again
    /// until `deadline` (the simulation found the check taking an old version's answer).
    async fn check_token(
        &self,
        endpoint: &Endpoint,
        candidate: &str,
        deadline: Instant,
    ) -> Result<(), Failure> {
        let check = "blue refuses requests without the token";
        let path = &self.paths.version;
        let answer = until_settled(deadline, move || async move {
            match self.get(endpoint, path, false).await {
                Ok(answer) if from_elsewhere(&answer, candidate) => Attempt::Unsettled(Ok(answer)),
                asked => Attempt::Settled(asked),
            }
        })
        .await
        .map_err(|detail| failure(endpoint, check, path, None, detail))?;
        if answer.status != 403 {
            let detail = format!("expected 403, got {}", answer.status);
            return Err(failure(endpoint, check, path, Some(answer), detail));
        }
        if answer.app_version.as_deref() != Some(candidate) {
            let detail = format!(
                "a 403 not from the app's version {candidate} (x-app-version: {:?})",
                answer.app_version
            );
            return Err(failure(endpoint, check, path, Some(answer), detail));
        }
        Ok(())
    }

    /// A smoke check (health is the first): its answer must come from the candidate, with
    /// the status and body it names. One from another version (a node the alias move has not
    /// reached yet), or a 502/504 where the check wants another status, is asked again until
    /// `deadline` (the simulation found smoke checks taking an old version's answer).
    async fn check_smoke(
        &self,
        endpoint: &Endpoint,
        smoke: &Smoke,
        candidate: &str,
        deadline: Instant,
    ) -> Result<(), Failure> {
        let (path, status) = (smoke.path.as_str(), smoke.status);
        let check = format!(
            "{} {path} answers {status}{}",
            smoke.method,
            smoke
                .contains
                .as_ref()
                .map(|c| format!(" containing {c:?}"))
                .unwrap_or_default()
        );
        let answer = until_settled(deadline, move || async move {
            match self.smoke(endpoint, smoke).await {
                Ok(answer)
                    if from_elsewhere(&answer, candidate)
                        || (answer.status != status && TRANSIENT[1..].contains(&answer.status)) =>
                {
                    Attempt::Unsettled(Ok(answer))
                }
                asked => Attempt::Settled(asked),
            }
        })
        .await
        .map_err(|detail| failure(endpoint, &check, path, None, detail))?;
        if let Some(other) = answer.app_version.as_ref().filter(|v| *v != candidate) {
            let detail = format!("answered by version {other}, not {candidate} (x-app-version)");
            return Err(failure(endpoint, &check, path, Some(answer), detail));
        }
        if answer.status != status {
            let detail = format!("expected {status}, got {}", answer.status);
            return Err(failure(endpoint, &check, path, Some(answer), detail));
        }
        if let Some(needle) = &smoke.contains
            && !answer.body.contains(needle.as_str())
        {
            let detail = format!("the body does not contain {needle:?}");
            return Err(failure(endpoint, &check, path, Some(answer), detail));
        }
        Ok(())
    }

    /// The contract's health path as a smoke check: `GET` answers 200.
    fn health_check(&self) -> Smoke {
        Smoke {
            method: "GET".into(),
            path: self.paths.health.clone(),
            headers: Default::default(),
            json: None,
            body: None,
            status: 200,
            contains: None,
        }
    }
}

/// One ask of a check: settled (taken as it is), or not yet (asked again until the deadline).
enum Attempt<T> {
    Settled(T),
    Unsettled(T),
}

/// Asks `attempt` every [`POLL`] until it settles or `deadline` passes; what it last said.
async fn until_settled<T, F: Future<Output = Attempt<T>>>(
    deadline: Instant,
    mut attempt: impl FnMut() -> F,
) -> T {
    loop {
        match attempt().await {
            Attempt::Settled(outcome) => return outcome,
            Attempt::Unsettled(outcome) if Instant::now() >= deadline => return outcome,
            Attempt::Unsettled(_) => tokio::time::sleep(POLL).await,
        }
    }
}

/// Whether the app's header names a version other than the candidate.
fn from_elsewhere(answer: &Answer, candidate: &str) -> bool {
    answer.app_version.as_ref().is_some_and(|v| v != candidate)
}

/// `check` failed at `path` of the stage: what it answered, if anything, and why.
fn failure(
    endpoint: &Endpoint,
    check: &str,
    path: &str,
    answer: Option<Answer>,
    detail: String,
) -> Failure {
    let (status, body) = answer.map_or((None, String::new()), |a| (Some(a.status), a.body));
    Failure {
        check: check.into(),
        url: format!("{}{path}", endpoint.url),
        status,
        body: shown(body),
        detail,
    }
}
