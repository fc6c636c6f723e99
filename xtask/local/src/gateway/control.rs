//! The gateway's control-plane reads, answered by the strict front (moto behind it) and the
//! local registry through the cloud traits, in the gateway's own types (the gateway caches them
//! for at most a second).
use std::{future::Future, path::PathBuf, sync::Arc};

use local_gateway::{
    AliasTarget, ControlPlane, Image, Read, ReadError, Route, Scope, Stage, Unpacked, Version,
    architecture::Architecture,
};

use super::image::Images;
use crate::front::{INVOCATIONS_PATH, STAGES_PATH};
use bgd_core::cloud::{Account, Apis, CloudError, ErrorKind, Functions, ImageRef, Operation};

/// The local cloud's control plane of one account and region, as the gateway sees it.
pub(super) struct FrontControlPlane<C> {
    /// Connected as that account, in that region.
    pub cloud: Arc<C>,
    pub images: Arc<Images>,
    /// Where the functions of this account and region log.
    pub logs: PathBuf,
    /// The strict front (which keeps Lambda's function states).
    pub front_url: String,
    pub scope: Scope,
    pub http: reqwest::Client,
}

fn read<T>(answer: impl Future<Output = Result<T, CloudError>> + Send + 'static) -> Read<T> {
    Box::pin(async move {
        answer.await.map_err(|e| ReadError {
            not_found: e.is_not_found(),
            message: e.to_string(),
        })
    })
}

impl<C: Functions + Apis + Account + 'static> ControlPlane for FrontControlPlane<C> {
    fn api_id(&self, name: String) -> Read<String> {
        let cloud = self.cloud.clone();
        read(async move { Ok(cloud.find_rest_api(&name).await?.id) })
    }

    fn stage(&self, api_id: String, stage: String) -> Read<Stage> {
        let cloud = self.cloud.clone();
        read(async move {
            let stage = cloud.get_stage(&api_id, &stage).await?;
            let routes = cloud.get_routes(&api_id).await?;
            let routes = routes
                .into_iter()
                .map(|route| Route {
                    methods: route
                        .methods
                        .into_iter()
                        .map(|(method, integration)| {
                            let invoked = integration.invoked_function(&stage.variables).ok_or(
                                "is not a Lambda proxy, or names a stage variable the stage lacks",
                            );
                            (method, invoked.map_err(str::to_owned))
                        })
                        .collect(),
                    path: route.path,
                })
                .collect();
            Ok(Stage {
                name: stage.name,
                variables: stage.variables,
                routes,
            })
        })
    }

    fn alias(&self, function: String, alias: String) -> Read<AliasTarget> {
        let cloud = self.cloud.clone();
        read(async move {
            let target = cloud.get_alias(&function, &alias).await?.target;
            Ok(AliasTarget {
                version: target.version,
                additional_weights: target.additional_weights,
            })
        })
    }

    fn version(&self, function: String, version: String) -> Read<Version> {
        let cloud = self.cloud.clone();
        read(async move {
            let version = cloud.get_version(&function, &version).await?;
            let architecture = Architecture::parse(&version.architecture).ok_or_else(|| {
                CloudError::new(
                    ErrorKind::Other,
                    Operation::GetFunction,
                    &format!("version {} of {function}", version.version),
                    format!("Lambda has no architecture {:?}", version.architecture),
                )
            })?;
            Ok(Version {
                function_name: version.function_name,
                version: version.version,
                code_sha256: version.code_sha256,
                image: version.image.map(|image| Image(image.uri())),
                environment: version
                    .settings
                    .environment
                    .into_iter()
                    .map(|(name, value)| (name, value.expose().to_owned()))
                    .collect(),
                memory_mb: version.settings.memory_mb,
                timeout: version.settings.timeout,
                architecture,
            })
        })
    }

    fn stage_served(&self, api_id: String, stage: String) -> Read<()> {
        let url = format!(
            "{}{STAGES_PATH}/{}/{}/{api_id}/{stage}",
            self.front_url.trim_end_matches('/'),
            self.scope.account,
            self.scope.region
        );
        let http = self.http.clone();
        Box::pin(async move {
            let answer = http.get(&url).send().await.map_err(|e| ReadError {
                not_found: false,
                message: format!("asking the front: {e}"),
            })?;
            if answer.status().is_success() {
                Ok(())
            } else {
                Err(ReadError {
                    not_found: true,
                    message: format!("stage {stage} of {api_id} is still propagating"),
                })
            }
        })
    }

    fn invocable(&self, function: String, version: String) -> Read<()> {
        let url = format!(
            "{}{INVOCATIONS_PATH}/{}/{}/{function}/{version}",
            self.front_url.trim_end_matches('/'),
            self.scope.account,
            self.scope.region
        );
        let http = self.http.clone();
        Box::pin(async move {
            let failed = |message: String| ReadError {
                not_found: false,
                message,
            };
            let answer = http
                .post(&url)
                .send()
                .await
                .map_err(|e| failed(format!("asking the front: {e}")))?;
            match answer.status().as_u16() {
                // 404: a version the front never saw published keeps no state to enforce.
                200 | 404 => Ok(()),
                _ => Err(failed(answer.text().await.unwrap_or_default())),
            }
        })
    }

    fn unpacked(&self, image: Image) -> Read<Unpacked> {
        let (cloud, images) = (self.cloud.clone(), self.images.clone());
        Box::pin(async move {
            let failed = |message: String| ReadError {
                not_found: false,
                message,
            };
            let image = ImageRef::parse(&image.0)
                .ok_or_else(|| failed(format!("{} is not an image by digest", image.0)))?;
            let access = cloud
                .registry_access()
                .await
                .map_err(|e| failed(e.to_string()))?;
            images
                .unpacked(&image, &access)
                .await
                .map_err(|e| failed(format!("{e:#}")))
        })
    }

    fn function_log(&self, function: &str) -> PathBuf {
        self.logs.join(format!("{function}.log"))
    }
}
