//! `provision`: creates what is missing, by direct API calls, in an order that is safe to
//! re-run: repository, role, the image function (which needs an image first: build, push,
//! publish version 1), aliases blue and green, the REST API and its routes, one permission per
//! alias scoped to its stage, and finally stage green, only after the version was verified on
//! a blue stage, held as the lock the way every verb that writes holds it. Every step resumes a provision that died half-way: a function without versions
//! gets version 1, an API without its routes gets them, "already exists" means exists.
mod create;

use std::fmt;

use anyhow::Result;
use serde::Serialize;

use self::create::{
    create_green_stage, create_or_update_function, ensure_api, ensure_blue_alias,
    ensure_permission, ensure_routes, green_alias_at,
};
use super::{
    BLUE, Cloud, Ctx, GREEN, LockOptions, Phase, absent_as_none, deploy, update::Published,
};
use crate::{
    cloud::{Alias, FunctionSpec, Repository, RestApi, Stage, Version},
    image::{self, Registry},
    ledger::{self, Task, VersionRecord},
};

#[derive(Debug, Serialize)]
pub struct Report {
    /// What this run created; empty when everything existed.
    pub created: Vec<String>,
    pub version: Option<u64>,
    pub green_url: String,
    pub dry_run: bool,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.created.is_empty() {
            writeln!(f, "nothing to do: everything exists")?;
        }
        let verb = if self.dry_run {
            "would create"
        } else {
            "created"
        };
        for item in &self.created {
            writeln!(f, "{verb} {item}")?;
        }
        if let Some(version) = self.version {
            writeln!(f, "green serves version {version}")?;
        }
        writeln!(f, "green: {}", self.green_url)
    }
}

/// What exists before provision writes anything.
struct Found {
    /// The function's `$LATEST`; `None` when there is no function yet.
    latest: Option<Version>,
    api: Option<RestApi>,
    green_stage: Option<Stage>,
}

/// Creates what is missing, phase after phase; with `--dry-run`, says what it would create.
pub async fn run<C: Cloud>(ctx: &Ctx<C>, options: &deploy::Options) -> Result<Report> {
    let found = ctx.progress.phase(Phase::Inspect, ctx.inspect()).await?;
    if let Some(latest) = &found.latest {
        image::check_architecture(&ctx.config.function.architecture, &latest.architecture)?;
    }
    if options.dry_run {
        return Ok(planned(ctx, &found));
    }

    let mut created = Vec::new();
    let (registry, repository, role_arn) = ctx.repository_and_role().await?;
    let green_alias = absent_as_none(ctx.cloud.get_alias(ctx.function(), GREEN).await)?;
    let finished = found.green_stage.is_some() && green_alias.is_some();
    let function_exists = found.latest.is_some();
    let reused = ctx
        .reusable_version(function_exists, finished, &registry, &repository)
        .await?;
    let shipped = match reused {
        Some(newest) => as_published(&newest)?,
        // No function yet, one an earlier provision left without a version, or one whose
        // newest version failed verification.
        None => {
            let published = ctx
                .publish_build(options, function_exists, &registry, &repository, role_arn)
                .await?;
            let (function, version) = (ctx.function(), published.version);
            created.push(format!("image function {function} with version {version}"));
            published
        }
    };

    // Blue now; green only once blue verified the version green will serve.
    ensure_blue_alias(ctx, shipped.version, &mut created).await?;
    let api = ensure_api(ctx, found.api, &mut created).await?;
    ensure_routes(ctx, &api, &mut created).await?;
    ensure_permission(ctx, &api, BLUE, &mut created).await?;
    if finished {
        ensure_permission(ctx, &api, GREEN, &mut created).await?;
    } else {
        let green = (found.green_stage.as_ref(), green_alias.as_ref());
        let registry = (&registry, repository.name.as_str());
        ctx.finish_green(&api, green, &shipped, registry, &mut created)
            .await?;
    }

    let green = ctx.cloud.get_alias(ctx.function(), GREEN).await?;
    Ok(Report {
        created,
        version: green.target.version.parse().ok(),
        green_url: ctx.stage_url(&api, GREEN),
        dry_run: false,
    })
}

/// What `--dry-run` reports: what a real run would create, from what the inspect phase found.
fn planned<C: Cloud>(ctx: &Ctx<C>, found: &Found) -> Report {
    let mut created = Vec::new();
    if found.latest.is_none() {
        created.push(format!(
            "repository and role, image function {} with version 1, aliases blue and green",
            ctx.function()
        ));
    }
    if found.api.is_none() {
        created.push(format!(
            "REST API {} with ANY / and ANY /{{proxy+}}, permissions per alias",
            ctx.config.api_name()
        ));
    }
    if found.green_stage.is_none() {
        created.push("stage green (after verifying on a blue stage)".into());
    }
    let green_url = found.api.as_ref().map_or_else(
        || "(not yet created)".into(),
        |api| ctx.stage_url(api, GREEN),
    );
    Report {
        created,
        version: None,
        green_url,
        dry_run: true,
    }
}

/// A version published earlier, as the green stage phase takes it.
fn as_published(version: &Version) -> Result<Published> {
    let record = VersionRecord::parse(&version.description)?;
    Ok(Published {
        version: version.version.parse::<u64>()?,
        record,
        description: version.description.clone(),
    })
}

impl<C: Cloud> Ctx<C> {
    /// The inspect phase: the function's `$LATEST`, the REST API and its stage green.
    async fn inspect(&self) -> Result<Found> {
        let latest = absent_as_none(self.cloud.get_version(self.function(), "$LATEST").await)?;
        let api = self.find_api().await?;
        let green_stage = match &api {
            Some(api) => absent_as_none(self.cloud.get_stage(&api.id, GREEN).await)?,
            None => None,
        };
        Ok(Found {
            latest,
            api,
            green_stage,
        })
    }

    /// The repository and Lambda's right to pull from it (only provision creates them), the
    /// registry client, and the function's role (its ARN).
    async fn repository_and_role(&self) -> Result<(C::Registry, Repository, String)> {
        let repository = self.config.repository_name();
        self.cloud.ensure_repository(repository).await?;
        let function_arn = self.config.function_arn(&self.account);
        self.cloud
            .allow_lambda_pull(repository, &function_arn)
            .await?;
        let (registry, repository) = self.registry().await?;
        let role_arn = self
            .cloud
            .ensure_function_role(
                &self.config.role_name(),
                &self.config.logs_policy(&self.account),
            )
            .await?;
        Ok((registry, repository, role_arn))
    }

    /// The function's newest version, when provision may reuse it. A finished stack (stage
    /// and alias green) reuses it; an unfinished one only if blue verified it. One that failed
    /// verification (a broken first deploy) is replaced by this commit's build, so fixing the
    /// commit gets the user out.
    async fn reusable_version(
        &self,
        function_exists: bool,
        finished: bool,
        registry: &C::Registry,
        repository: &Repository,
    ) -> Result<Option<Version>> {
        if !function_exists {
            return Ok(None);
        }
        let Some(listed) = self.cloud.list_versions(self.function()).await?.pop() else {
            return Ok(None);
        };
        // A list answer names no image, on AWS too: judged on it, no version was verified and
        // every resumed provision published another (aws-audit-3 N6).
        let newest = self
            .cloud
            .get_version(self.function(), &listed.version)
            .await?;
        if finished {
            return Ok(Some(newest));
        }
        match self
            .verification(registry, &repository.name, &newest)
            .await?
        {
            Ok(_) => Ok(Some(newest)),
            Err(why) => {
                self.progress.note(format_args!(
                    "{why}: provisioning with this commit's build instead"
                ));
                Ok(None)
            }
        }
    }

    /// The build, push and function phases: this commit's image, pushed and published as a
    /// version of the function (created unless `function_exists`).
    async fn publish_build(
        &self,
        options: &deploy::Options,
        function_exists: bool,
        registry: &C::Registry,
        repository: &Repository,
        role_arn: String,
    ) -> Result<Published> {
        let (built, image) = self
            .progress
            .phase(Phase::Build, self.image(options))
            .await?;
        let image_ref = repository.image(&built.digest);
        self.push_phase(registry, repository, &built, &image)
            .await?;
        let record = VersionRecord::now(&built.facts, &built.digest, built.origin.clone());
        let spec = FunctionSpec {
            name: self.function().to_owned(),
            role_arn,
            image: image_ref,
            architecture: self.config.function.architecture.clone(),
            settings: self.config.settings()?,
        };
        let (version, description) = self.function_phase(function_exists, &spec, &record).await?;
        Ok(Published {
            version,
            record,
            description,
        })
    }

    /// The function phase: the function created as `spec` says, or, when it exists (an
    /// earlier provision left it without a verified version), its code and configuration set
    /// to `spec`; then a version published with `record` and waited on until Active. Returns
    /// its number and Description.
    ///
    /// Not `update_phase`: this phase also creates, is reported as `function`, and takes the
    /// function as it finds it, where a deploy's update refuses an image someone else set.
    async fn function_phase(
        &self,
        function_exists: bool,
        spec: &FunctionSpec,
        record: &VersionRecord,
    ) -> Result<(u64, String)> {
        self.progress
            .phase(Phase::Function, async {
                create_or_update_function(self, function_exists, spec).await?;
                let latest = self.wait_updated().await?;
                let version = self
                    .publish_active(&latest.code_sha256, &record.to_description())
                    .await?;
                anyhow::Ok((version.version.parse::<u64>()?, version.description))
            })
            .await
    }

    /// Green for a stack provision has not finished (`green` is the stage and alias that
    /// exist): the green stage phase, then the alias's permission, then stage green, waited on
    /// until it serves the version blue verified.
    async fn finish_green(
        &self,
        api: &RestApi,
        green: (Option<&Stage>, Option<&Alias>),
        shipped: &Published,
        registry: (&C::Registry, &str),
        created: &mut Vec<String>,
    ) -> Result<()> {
        let (green_stage, green_alias) = green;
        let version = shipped.version;
        if let Some(alias) = green_alias.filter(|a| a.target.version != version.to_string()) {
            // An earlier provision pointed green at a version blue never verified: say so; it
            // moves once this run's version is verified.
            self.progress.note(format_args!(
                "alias green points at version {}: it moves to version {version} once blue verified it",
                alias.target.version
            ));
        }
        let deployment = self
            .progress
            .phase(
                Phase::GreenStage,
                self.verify_then_green(api, green, shipped, registry),
            )
            .await?;
        if green_alias.is_none() {
            created.push(format!("alias {GREEN} → {version}"));
        }
        ensure_permission(self, api, GREEN, created).await?;
        if green_stage.is_none() {
            create_green_stage(self, api, deployment, created).await?;
            // A new stage propagates before API Gateway serves it: done means users reach it.
            self.progress
                .phase(
                    Phase::Green,
                    self.probe_green(api, version, &shipped.record),
                )
                .await?;
        }
        Ok(())
    }

    /// The green stage phase: the deployment stage green serves (an existing stage keeps its
    /// own); under the lock, blue verified, the verification recorded, and only then alias
    /// green created or moved, to the verified version. Returns the deployment.
    async fn verify_then_green(
        &self,
        api: &RestApi,
        (green_stage, green_alias): (Option<&Stage>, Option<&Alias>),
        shipped: &Published,
        (registry, repository): (&C::Registry, &str),
    ) -> Result<String> {
        let Published {
            version,
            record,
            description,
        } = shipped;
        let deployment = match green_stage {
            Some(stage) => stage.deployment_id.clone(),
            None => {
                self.cloud
                    .create_deployment(&api.id, "bgd provision")
                    .await?
            }
        };
        // The lock stage is made from this deployment: provision creates the API, so until
        // here there is none to lock with.
        let lock = LockOptions {
            task: Task::Provision,
            ..LockOptions::default()
        };
        self.locked(
            api,
            &deployment,
            &record.git_sha,
            lock,
            None,
            |token| async move {
                self.point_alias(BLUE, &version.to_string()).await?;
                self.verify_blue(api, &token, *version, record).await?;
                // Verified on blue: a later rollback to it needs no second verification.
                registry
                    .tag(
                        repository,
                        &record.digest,
                        &ledger::verified_tag(*version, description),
                    )
                    .await?;
                // Only now does green exist, or move, and only to the verified version: under
                // the lock, as every write of green, and only while it is still this run's.
                self.still_holds(api, token.expose()).await?;
                green_alias_at(self, green_alias, *version).await
            },
        )
        .await?;
        Ok(deployment)
    }
}
