//! `provision`: creates what is missing, by direct API calls, in an order that is safe to
//! re-run: repository, role, the image function (which needs an image first: build, push,
//! publish version 1), aliases blue and green, the REST API and its routes, one permission per
//! alias scoped to its stage, and finally stage green, only after the version was verified on
//! a blue stage. Every step resumes a provision that died half-way: a function without versions
//! gets version 1, an API without its routes gets them, "already exists" means exists.
mod create;

use std::{collections::BTreeMap, fmt};

use anyhow::Result;
use serde::Serialize;

use self::create::{create_function, ensure_permission};
use super::{ALIAS_VARIABLE, BLUE, Cloud, Ctx, GREEN, Phase, absent_as_none, deploy};
use crate::{
    cloud::{AliasTarget, FunctionSpec, Stage},
    image::{self, Registry},
    ledger::{self, Promotion, VersionRecord},
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

pub async fn run<C: Cloud>(ctx: &Ctx<C>, options: &deploy::Options) -> Result<Report> {
    let p = &ctx.progress;
    let function = ctx.function().to_owned();
    let mut created = Vec::new();
    let existing = p
        .phase(Phase::Inspect, async {
            let latest = absent_as_none(ctx.cloud.get_version(&function, "$LATEST").await)?;
            let api = ctx.find_api().await?;
            let green_stage = match &api {
                Some(api) => absent_as_none(ctx.cloud.get_stage(&api.id, GREEN).await)?,
                None => None,
            };
            anyhow::Ok((latest, api, green_stage))
        })
        .await?;
    let (latest, api, green_stage) = existing;
    if let Some(latest) = &latest {
        image::check_architecture(&ctx.config.function.architecture, &latest.architecture)?;
    }
    if options.dry_run {
        if latest.is_none() {
            created.push(format!("repository and role, image function {function} with version 1, aliases blue and green"));
        }
        if api.is_none() {
            created.push(format!(
                "REST API {} with ANY / and ANY /{{proxy+}}, permissions per alias",
                ctx.config.api_name()
            ));
        }
        if green_stage.is_none() {
            created.push("stage green (after verifying on a blue stage)".into());
        }
        let green_url = api.as_ref().map_or_else(
            || "(not yet created)".into(),
            |api| ctx.stage_url(api, GREEN),
        );
        return Ok(Report {
            created,
            version: None,
            green_url,
            dry_run: true,
        });
    }

    // The repository, and Lambda's right to pull from it: only provision creates them.
    ctx.cloud
        .ensure_repository(ctx.config.repository_name())
        .await?;
    ctx.cloud
        .allow_lambda_pull(
            ctx.config.repository_name(),
            &ctx.config.function_arn(&ctx.account),
        )
        .await?;
    let (registry, repository) = ctx.registry().await?;
    let role_arn = ctx
        .cloud
        .ensure_function_role(
            &ctx.config.role_name(),
            &ctx.config.logs_policy(&ctx.account),
        )
        .await?;

    // A finished stack (stage and alias green) reuses its newest version; an unfinished one
    // reuses it only if blue verified it. One that failed verification (a broken first
    // deploy) is replaced by this commit's build, so fixing the commit gets the user out.
    let green_alias = absent_as_none(ctx.cloud.get_alias(&function, GREEN).await)?;
    let finished = green_stage.is_some() && green_alias.is_some();
    let newest = match &latest {
        Some(_) => ctx.cloud.list_versions(&function).await?.pop(),
        None => None,
    };
    let newest = match newest {
        Some(newest) if !finished => {
            match ctx
                .verification(&registry, &repository.name, &newest)
                .await?
            {
                Ok(_) => Some(newest),
                Err(why) => {
                    p.note(format_args!(
                        "{why}: provisioning with this commit's build instead"
                    ));
                    None
                }
            }
        }
        other => other,
    };
    let (version, record, description) = match newest {
        Some(newest) => {
            let record = VersionRecord::parse(&newest.description)?;
            (
                newest.version.parse::<u64>()?,
                record,
                newest.description.clone(),
            )
        }
        // No function yet, or one an earlier provision left without a version.
        None => {
            let (built, image) = p.phase(Phase::Build, ctx.image(options)).await?;
            let image_ref = repository.image(&built.digest);
            ctx.push_phase(&registry, &repository, &built, &image)
                .await?;
            let record = VersionRecord::now(&built.facts, &built.digest);
            let spec = FunctionSpec {
                name: function.clone(),
                role_arn,
                image: image_ref.clone(),
                architecture: ctx.config.function.architecture.clone(),
                settings: ctx.config.settings()?,
            };
            let version = p
                .phase(Phase::Function, async {
                    match latest {
                        None => create_function(ctx, &spec).await?,
                        Some(_) => {
                            ctx.retry_conflicts(|| {
                                ctx.cloud.update_function_code(
                                    &function,
                                    &image_ref,
                                    &spec.architecture,
                                )
                            })
                            .await?;
                            ctx.wait_updated().await?;
                            ctx.retry_conflicts(|| {
                                ctx.cloud
                                    .update_function_configuration(&function, &spec.settings)
                            })
                            .await?;
                        }
                    }
                    let latest = ctx.wait_updated().await?;
                    let description = record.to_description();
                    let version = ctx
                        .retry_conflicts(|| {
                            ctx.cloud
                                .publish_version(&function, &latest.code_sha256, &description)
                        })
                        .await?;
                    ctx.wait_version_active(&version.version).await?;
                    anyhow::Ok((version.version.parse::<u64>()?, version.description))
                })
                .await?;
            let (version, description) = version;
            created.push(format!("image function {function} with version {version}"));
            (version, record, description)
        }
    };

    // Blue now; green only once blue verified the version green will serve.
    if absent_as_none(ctx.cloud.get_alias(&function, BLUE).await)?.is_none() {
        ctx.cloud
            .create_alias(
                &function,
                BLUE,
                &AliasTarget::version(version.to_string()),
                "",
            )
            .await?;
        created.push(format!("alias {BLUE} → {version}"));
    }

    let api = match api {
        Some(api) => api,
        None => {
            let api = ctx.cloud.create_rest_api(ctx.config.api_name()).await?;
            created.push(format!("REST API {} ({})", api.name, api.id));
            api
        }
    };
    // An API an earlier provision left without its routes gets them.
    let routes = ctx.cloud.get_routes(&api.id).await?;
    let proxied = |path: &str| {
        routes.iter().any(|route| {
            route.path == path
                && route
                    .methods
                    .get("ANY")
                    .is_some_and(|i| i.kind == "AWS_PROXY")
        })
    };
    if !(proxied("/") && proxied("/{proxy+}")) {
        ctx.cloud
            .put_lambda_proxy_routes(&api, &ctx.config.function_arn(&ctx.account))
            .await?;
        created.push(format!(
            "routes ANY / and ANY /{{proxy+}} of REST API {}",
            api.name
        ));
    }

    ensure_permission(ctx, &api, BLUE, &mut created).await?;
    if let Some(alias) = &green_alias {
        if finished {
            ensure_permission(ctx, &api, GREEN, &mut created).await?;
        }
        // An earlier provision pointed green at a version blue never verified: say so; it
        // moves once this run's version is verified.
        if !finished && alias.target.version != version.to_string() {
            p.note(format_args!(
                "alias green points at version {}: it moves to version {version} once blue verified it",
                alias.target.version
            ));
        }
    }

    if !finished {
        let deployment = p
            .phase(Phase::GreenStage, async {
                let deployment = match &green_stage {
                    Some(stage) => stage.deployment_id.clone(),
                    None => {
                        ctx.cloud
                            .create_deployment(&api.id, "bgd provision")
                            .await?
                    }
                };
                let token = ctx
                    .take_lock(&api, &deployment, &record.git_sha, Default::default(), None)
                    .await?;
                let verified = async {
                    ctx.point_alias(BLUE, &version.to_string()).await?;
                    ctx.verify_blue(&api, &token, version, &record).await
                }
                .await;
                let released = ctx.release_lock(&api).await;
                verified?;
                released?;
                // Verified on blue: a later rollback to it needs no second verification.
                registry
                    .tag(
                        &repository.name,
                        &record.digest,
                        &ledger::verified_tag(version, &description),
                    )
                    .await?;
                // Only now does green exist, or move, and only to the verified version.
                match &green_alias {
                    None => {
                        let promotion = Promotion {
                            version,
                            from: None,
                            actor: ledger::actor(),
                            at: ledger::now_rfc3339(),
                            pinned: false,
                            baking: None,
                        };
                        let target = AliasTarget::version(version.to_string());
                        let writes = &ctx.green_writes;
                        writes.lock().expect("green_writes").sent(&target);
                        ctx.cloud
                            .create_alias(&function, GREEN, &target, &promotion.to_description())
                            .await?;
                        writes.lock().expect("green_writes").answered(&target, true);
                    }
                    Some(alias) if alias.target.version != version.to_string() => {
                        ctx.promote(
                            alias,
                            super::Promote::Write {
                                version,
                                pinned: false,
                            },
                        )
                        .await?;
                    }
                    Some(_) => {}
                }
                anyhow::Ok(deployment)
            })
            .await?;
        if green_alias.is_none() {
            created.push(format!("alias {GREEN} → {version}"));
        }
        ensure_permission(ctx, &api, GREEN, &mut created).await?;
        if green_stage.is_none() {
            let green = Stage {
                name: GREEN.into(),
                deployment_id: deployment,
                variables: BTreeMap::from([(ALIAS_VARIABLE.into(), GREEN.into())]),
                description: "bgd: what users reach".into(),
            };
            ctx.cloud.create_stage(&api.id, &green).await?;
            created.push(format!("stage green ({})", ctx.stage_url(&api, GREEN)));
            // A new stage propagates before API Gateway serves it: done means users reach it.
            p.phase(Phase::Green, ctx.probe_green(&api, version, &record))
                .await?;
        }
    }

    let green = ctx.cloud.get_alias(&function, GREEN).await?;
    Ok(Report {
        created,
        version: green.target.version.parse().ok(),
        green_url: ctx.stage_url(&api, GREEN),
        dry_run: false,
    })
}
