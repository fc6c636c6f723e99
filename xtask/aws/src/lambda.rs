//! [`Functions`] on the Lambda API.
use std::{collections::HashMap, time::Duration};

use aws_sdk_lambda::types::{
    AliasRoutingConfiguration, Architecture, Environment, FunctionCode, PackageType,
};

use super::{
    Alias, AliasTarget, Audit, CloudResult, FunctionSpec, Functions, ImageRef, Operation, SdkCloud,
    Settings, Version, VersionState,
    error::{OrCloud, missing},
};
use bgd_core::secret::Secret;

/// The same fields read from any of Lambda's function configuration outputs.
macro_rules! version_from {
    ($op:expr, $subject:expr, $out:expr, $image:expr) => {{
        let out = $out;
        Version {
            function_name: out
                .function_name()
                .ok_or_else(|| missing($op, $subject, "FunctionName"))?
                .to_owned(),
            function_arn: unqualified(
                out.function_arn()
                    .ok_or_else(|| missing($op, $subject, "FunctionArn"))?,
            ),
            version: out.version().unwrap_or("$LATEST").to_owned(),
            code_sha256: out.code_sha256().unwrap_or_default().to_owned(),
            image: $image,
            settings: Settings {
                environment: out
                    .environment()
                    .and_then(|e| e.variables())
                    .map(|vars| {
                        vars.iter()
                            .map(|(k, v)| (k.clone(), Secret::from(v.clone())))
                            .collect()
                    })
                    .unwrap_or_default(),
                memory_mb: out.memory_size().unwrap_or(128).try_into().unwrap_or(128),
                timeout: Duration::from_secs(out.timeout().unwrap_or(3).try_into().unwrap_or(3)),
            },
            description: out.description().unwrap_or_default().to_owned(),
            state: out
                .state()
                .map_or(VersionState::Active, |s| VersionState::parse(s.as_str())),
            architecture: out
                .architectures()
                .first()
                .map_or("x86_64", |a| a.as_str())
                .to_owned(),
            last_update_status: out.last_update_status().map(|s| s.as_str().to_owned()),
            revision_id: out.revision_id().map(str::to_owned),
        }
    }};
}

/// The same fields read from any of Lambda's alias outputs.
macro_rules! alias_from {
    ($op:expr, $subject:expr, $out:expr) => {{
        let out = $out;
        Alias {
            name: out
                .name()
                .ok_or_else(|| missing($op, $subject, "Name"))?
                .to_owned(),
            target: AliasTarget {
                version: out
                    .function_version()
                    .ok_or_else(|| missing($op, $subject, "FunctionVersion"))?
                    .to_owned(),
                additional_weights: out
                    .routing_config()
                    .and_then(|r| r.additional_version_weights())
                    .map(|w| w.iter().map(|(k, v)| (k.clone(), *v)).collect())
                    .unwrap_or_default(),
            },
            description: out.description().unwrap_or_default().to_owned(),
            revision_id: out.revision_id().map(str::to_owned),
        }
    }};
}

/// `arn:aws:lambda:R:A:function:NAME[:QUALIFIER]` without the qualifier.
fn unqualified(arn: &str) -> String {
    arn.split(':').take(7).collect::<Vec<_>>().join(":")
}

fn environment(settings: &Settings) -> Environment {
    Environment::builder()
        .set_variables(Some(settings.exposed_environment().into_iter().collect()))
        .build()
}

fn seconds(timeout: Duration) -> i32 {
    timeout.as_secs().try_into().unwrap_or(i32::MAX)
}

fn memory(settings: &Settings) -> i32 {
    settings.memory_mb.try_into().unwrap_or(i32::MAX)
}

fn routing(target: &AliasTarget) -> AliasRoutingConfiguration {
    let weights: HashMap<String, f64> = target.additional_weights.clone().into_iter().collect();
    AliasRoutingConfiguration::builder()
        .set_additional_version_weights(Some(weights))
        .build()
}

impl Functions for SdkCloud {
    async fn create_image_function(&self, spec: &FunctionSpec) -> CloudResult<Version> {
        let op = Operation::CreateFunction;
        let subject = format!("function {}", spec.name);
        let out = self
            .lambda
            .create_function()
            .function_name(&spec.name)
            .role(&spec.role_arn)
            .package_type(PackageType::Image)
            .code(FunctionCode::builder().image_uri(spec.image.uri()).build())
            .architectures(Architecture::from(spec.architecture.as_str()))
            .environment(environment(&spec.settings))
            .memory_size(memory(&spec.settings))
            .timeout(seconds(spec.settings.timeout))
            .send()
            .await
            .or_cloud(op, &subject)?;
        Ok(version_from!(op, &subject, out, Some(spec.image.clone())))
    }

    async fn update_function_code(
        &self,
        function: &str,
        image: &ImageRef,
        architecture: &str,
    ) -> CloudResult<Version> {
        let op = Operation::UpdateFunctionCode;
        let subject = format!("function {function}");
        let out = self
            .lambda
            .update_function_code()
            .function_name(function)
            .image_uri(image.uri())
            .architectures(Architecture::from(architecture))
            .send()
            .await
            .or_cloud(op, &subject)?;
        Ok(version_from!(op, &subject, out, Some(image.clone())))
    }

    async fn update_function_configuration(
        &self,
        function: &str,
        settings: &Settings,
    ) -> CloudResult<Version> {
        let op = Operation::UpdateFunctionConfiguration;
        let subject = format!("function {function}");
        let out = self
            .lambda
            .update_function_configuration()
            .function_name(function)
            .environment(environment(settings))
            .memory_size(memory(settings))
            .timeout(seconds(settings.timeout))
            .send()
            .await
            .or_cloud(op, &subject)?;
        Ok(version_from!(op, &subject, out, None))
    }

    async fn publish_version(
        &self,
        function: &str,
        code_sha256: &str,
        description: &str,
    ) -> CloudResult<Version> {
        let op = Operation::PublishVersion;
        let subject = format!("function {function}");
        let out = self
            .lambda
            .publish_version()
            .function_name(function)
            .code_sha256(code_sha256)
            .description(description)
            .send()
            .await
            .or_cloud(op, &subject)?;
        Ok(version_from!(op, &subject, out, None))
    }

    async fn get_version(&self, function: &str, qualifier: &str) -> CloudResult<Version> {
        let op = Operation::GetFunction;
        let subject = format!("version {qualifier} of {function}");
        let out = self
            .lambda
            .get_function()
            .function_name(function)
            .qualifier(qualifier)
            .send()
            .await
            .or_cloud(op, &subject)?;
        let config = out
            .configuration()
            .ok_or_else(|| missing(op, &subject, "Configuration"))?;
        let image = out
            .code()
            .and_then(|c| c.resolved_image_uri())
            .and_then(ImageRef::parse);
        Ok(version_from!(op, &subject, config, image))
    }

    async fn get_alias(&self, function: &str, alias: &str) -> CloudResult<Alias> {
        let op = Operation::GetAlias;
        let subject = format!("alias {alias} of {function}");
        let out = self
            .lambda
            .get_alias()
            .function_name(function)
            .name(alias)
            .send()
            .await
            .or_cloud(op, &subject)?;
        Ok(alias_from!(op, &subject, out))
    }

    async fn create_alias(
        &self,
        function: &str,
        alias: &str,
        target: &AliasTarget,
        description: &str,
    ) -> CloudResult<Alias> {
        let op = Operation::CreateAlias;
        let subject = format!("alias {alias} of {function}");
        let out = self
            .lambda
            .create_alias()
            .function_name(function)
            .name(alias)
            .function_version(&target.version)
            .routing_config(routing(target))
            .description(description)
            .send()
            .await
            .or_cloud(op, &subject)?;
        Ok(alias_from!(op, &subject, out))
    }

    async fn update_alias(
        &self,
        function: &str,
        alias: &str,
        target: &AliasTarget,
        description: Option<&str>,
        revision_id: Option<&str>,
    ) -> CloudResult<Alias> {
        let op = Operation::UpdateAlias;
        let subject = format!("alias {alias} of {function}");
        let out = self
            .lambda
            .update_alias()
            .function_name(function)
            .name(alias)
            .function_version(&target.version)
            .routing_config(routing(target))
            .set_description(description.map(str::to_owned))
            .set_revision_id(revision_id.map(str::to_owned))
            .send()
            .await
            .or_cloud(op, &subject)?;
        Ok(alias_from!(op, &subject, out))
    }

    async fn list_versions(&self, function: &str) -> CloudResult<Vec<Version>> {
        let op = Operation::ListVersionsByFunction;
        let subject = format!("versions of {function}");
        let mut versions = Vec::new();
        let mut marker = None;
        loop {
            let out = self
                .lambda
                .list_versions_by_function()
                .function_name(function)
                .set_marker(marker)
                .send()
                .await
                .or_cloud(op, &subject)?;
            for config in out.versions() {
                if config.version() != Some("$LATEST") {
                    versions.push(version_from!(op, &subject, config, None));
                }
            }
            marker = out.next_marker().map(str::to_owned);
            if marker.is_none() {
                break;
            }
        }
        versions.sort_by_key(|v| v.version.parse::<u64>().unwrap_or(0));
        Ok(versions)
    }

    async fn add_permission(
        &self,
        function: &str,
        alias: &str,
        statement_id: &str,
        source_arn: &str,
    ) -> CloudResult<()> {
        let op = Operation::AddPermission;
        let subject = format!("permission {statement_id} on {function}:{alias}");
        self.lambda
            .add_permission()
            .function_name(function)
            .qualifier(alias)
            .statement_id(statement_id)
            .action("lambda:InvokeFunction")
            .principal("apigateway.amazonaws.com")
            .source_arn(source_arn)
            .send()
            .await
            .or_cloud(op, &subject)?;
        Ok(())
    }

    async fn delete_function(&self, function: &str) -> CloudResult<()> {
        let op = Operation::DeleteFunction;
        let subject = format!("function {function}");
        self.lambda
            .delete_function()
            .function_name(function)
            .send()
            .await
            .or_cloud(op, &subject)?;
        Ok(())
    }

    async fn permission_statements(&self, function: &str, alias: &str) -> CloudResult<Vec<String>> {
        // No policy yet is no statement yet.
        let policy = self.permission_policy(function, alias).await?;
        Ok(policy
            .iter()
            .flat_map(|policy| policy["Statement"].as_array().into_iter().flatten())
            .filter_map(|statement| statement["Sid"].as_str().map(str::to_owned))
            .collect())
    }
}
