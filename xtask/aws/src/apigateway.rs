//! [`Apis`] on the API Gateway (REST, v1) API.
use std::collections::BTreeMap;

use aws_sdk_apigateway::types::IntegrationType;

use super::{
    Apis, CloudResult, Integration, Operation, RestApi, Route, SdkCloud, Stage,
    error::{OrCloud, missing},
};

/// The greedy resource that hands every sub-path to the function.
const PROXY_PATH_PART: &str = "{proxy+}";

impl Apis for SdkCloud {
    async fn find_rest_api(&self, name: &str) -> CloudResult<RestApi> {
        let op = Operation::GetRestApis;
        let subject = format!("REST API {name}");
        let mut pages = self
            .apigateway
            .get_rest_apis()
            .limit(500)
            .into_paginator()
            .items()
            .send();
        while let Some(api) = pages.next().await {
            let api = api.or_cloud(op, &subject)?;
            if api.name() == Some(name) {
                return Ok(RestApi {
                    id: api
                        .id()
                        .ok_or_else(|| missing(op, &subject, "id"))?
                        .to_owned(),
                    name: name.to_owned(),
                    root_resource_id: api.root_resource_id().unwrap_or_default().to_owned(),
                });
            }
        }
        Err(super::CloudError::new(
            super::ErrorKind::NotFound,
            op,
            &subject,
            String::new(),
        ))
    }

    async fn create_rest_api(&self, name: &str) -> CloudResult<RestApi> {
        let op = Operation::CreateRestApi;
        let subject = format!("REST API {name}");
        let out = self
            .apigateway
            .create_rest_api()
            .name(name)
            .send()
            .await
            .or_cloud(op, &subject)?;
        Ok(RestApi {
            id: out
                .id()
                .ok_or_else(|| missing(op, &subject, "id"))?
                .to_owned(),
            name: name.to_owned(),
            root_resource_id: out
                .root_resource_id()
                .ok_or_else(|| missing(op, &subject, "rootResourceId"))?
                .to_owned(),
        })
    }

    async fn get_routes(&self, api_id: &str) -> CloudResult<Vec<Route>> {
        let op = Operation::GetResources;
        let subject = format!("resources of REST API {api_id}");
        let mut pages = self
            .apigateway
            .get_resources()
            .rest_api_id(api_id)
            .embed("methods")
            .limit(500)
            .into_paginator()
            .items()
            .send();
        let mut routes = Vec::new();
        while let Some(resource) = pages.next().await {
            let resource = resource.or_cloud(op, &subject)?;
            let methods = resource
                .resource_methods()
                .into_iter()
                .flatten()
                .map(|(verb, method)| {
                    let integration = method.method_integration();
                    let kind = integration
                        .and_then(|i| i.r#type())
                        .map(|t| t.as_str().to_owned())
                        .unwrap_or_default();
                    let uri = integration.and_then(|i| i.uri()).map(str::to_owned);
                    (verb.clone(), Integration { kind, uri })
                })
                .collect();
            routes.push(Route {
                path: resource.path().unwrap_or("/").to_owned(),
                methods,
            });
        }
        Ok(routes)
    }

    async fn put_lambda_proxy_routes(&self, api: &RestApi, function_arn: &str) -> CloudResult<()> {
        let subject = format!("REST API {}", api.name);
        let mut resources = vec![api.root_resource_id.clone()];
        // A provision that died half-way may have created the proxy resource already.
        let mut pages = self
            .apigateway
            .get_resources()
            .rest_api_id(&api.id)
            .limit(500)
            .into_paginator()
            .items()
            .send();
        let mut existing = None;
        while let Some(resource) = pages.next().await {
            let resource = resource.or_cloud(Operation::GetResources, &subject)?;
            if resource.path_part() == Some(PROXY_PATH_PART) {
                existing = resource.id().map(str::to_owned);
            }
        }
        let proxy = match existing {
            Some(id) => id,
            None => self
                .apigateway
                .create_resource()
                .rest_api_id(&api.id)
                .parent_id(&api.root_resource_id)
                .path_part(PROXY_PATH_PART)
                .send()
                .await
                .or_cloud(Operation::CreateResource, &subject)?
                .id()
                .ok_or_else(|| missing(Operation::CreateResource, &subject, "id"))?
                .to_owned(),
        };
        resources.push(proxy);
        let uri = Integration::lambda_uri(&self.region, function_arn);
        for resource in &resources {
            let method = self
                .apigateway
                .put_method()
                .rest_api_id(&api.id)
                .resource_id(resource)
                .http_method("ANY")
                .authorization_type("NONE")
                .send()
                .await
                .or_cloud(Operation::PutMethod, &subject);
            // The method exists already: its integration is put again below.
            match method {
                Err(e) if e.is_conflict() => {}
                other => {
                    other?;
                }
            }
            // Lambda is always invoked with POST, whatever the client's method
            // (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html).
            self.apigateway
                .put_integration()
                .rest_api_id(&api.id)
                .resource_id(resource)
                .http_method("ANY")
                .r#type(IntegrationType::AwsProxy)
                .integration_http_method("POST")
                .uri(&uri)
                .send()
                .await
                .or_cloud(Operation::PutIntegration, &subject)?;
        }
        Ok(())
    }

    async fn create_deployment(&self, api_id: &str, description: &str) -> CloudResult<String> {
        let op = Operation::CreateDeployment;
        let subject = format!("REST API {api_id}");
        let out = self
            .apigateway
            .create_deployment()
            .rest_api_id(api_id)
            .description(description)
            .send()
            .await
            .or_cloud(op, &subject)?;
        Ok(out
            .id()
            .ok_or_else(|| missing(op, &subject, "id"))?
            .to_owned())
    }

    async fn create_stage(&self, api_id: &str, stage: &Stage) -> CloudResult<Stage> {
        let op = Operation::CreateStage;
        let subject = format!("stage {} of REST API {api_id}", stage.name);
        let out = self
            .apigateway
            .create_stage()
            .rest_api_id(api_id)
            .stage_name(&stage.name)
            .deployment_id(&stage.deployment_id)
            .description(&stage.description)
            .set_variables(Some(stage.variables.clone().into_iter().collect()))
            .send()
            .await
            .or_cloud(op, &subject)?;
        Ok(Stage {
            name: out.stage_name().unwrap_or(&stage.name).to_owned(),
            deployment_id: out.deployment_id().unwrap_or_default().to_owned(),
            variables: variables(out.variables()),
            description: out.description().unwrap_or_default().to_owned(),
        })
    }

    async fn get_stage(&self, api_id: &str, name: &str) -> CloudResult<Stage> {
        let op = Operation::GetStage;
        let subject = format!("stage {name} of REST API {api_id}");
        let out = self
            .apigateway
            .get_stage()
            .rest_api_id(api_id)
            .stage_name(name)
            .send()
            .await
            .or_cloud(op, &subject)?;
        Ok(Stage {
            name: name.to_owned(),
            deployment_id: out.deployment_id().unwrap_or_default().to_owned(),
            variables: variables(out.variables()),
            description: out.description().unwrap_or_default().to_owned(),
        })
    }

    async fn delete_stage(&self, api_id: &str, name: &str) -> CloudResult<()> {
        let op = Operation::DeleteStage;
        let subject = format!("stage {name} of REST API {api_id}");
        self.apigateway
            .delete_stage()
            .rest_api_id(api_id)
            .stage_name(name)
            .send()
            .await
            .or_cloud(op, &subject)?;
        Ok(())
    }

    async fn delete_rest_api(&self, api_id: &str) -> CloudResult<()> {
        let op = Operation::DeleteRestApi;
        let subject = format!("REST API {api_id}");
        self.apigateway
            .delete_rest_api()
            .rest_api_id(api_id)
            .send()
            .await
            .or_cloud(op, &subject)?;
        Ok(())
    }
}

fn variables(vars: Option<&std::collections::HashMap<String, String>>) -> BTreeMap<String, String> {
    vars.into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
