//! Lambda's calls over the wire, each built by the SDK from the case's input in Lambda's API
//! shape.
use aws_sdk_lambda::types::{
    AliasRoutingConfiguration, Architecture, Environment, FunctionCode, PackageType,
};
use serde_json::Value;

use super::WireModel;
use bgd_rules::conformance::map_at;

impl WireModel {
    pub(super) async fn send_lambda(
        &self,
        call: &str,
        i: &Value,
    ) -> Option<Result<(), (u16, String)>> {
        let s = |k: &str| i[k].as_str().map(str::to_owned);
        let l = &self.lambda;
        let name = s("FunctionName");
        match call {
            "CreateFunction" => sent!(
                l.create_function()
                    .set_function_name(name)
                    .set_role(s("Role"))
                    .package_type(PackageType::Image)
                    .code(
                        FunctionCode::builder()
                            .set_image_uri(i["Code"]["ImageUri"].as_str().map(str::to_owned))
                            .build()
                    )
                    .set_publish(i["Publish"].as_bool())
                    .set_description(s("Description"))
                    .set_architectures(architectures(i))
                    .set_environment(environment(i))
            ),
            "GetFunction" => sent!(
                l.get_function()
                    .set_function_name(name)
                    .set_qualifier(s("Qualifier"))
            ),
            "GetFunctionConfiguration" => sent!(
                l.get_function_configuration()
                    .set_function_name(name)
                    .set_qualifier(s("Qualifier"))
            ),
            "UpdateFunctionCode" => sent!(
                l.update_function_code()
                    .set_function_name(name)
                    .set_image_uri(s("ImageUri"))
                    .set_zip_file(s("ZipFile").map(aws_smithy_types::Blob::new))
                    .set_publish(i["Publish"].as_bool())
                    .set_revision_id(s("RevisionId"))
                    .set_architectures(architectures(i))
            ),
            "UpdateFunctionConfiguration" => sent!(
                l.update_function_configuration()
                    .set_function_name(name)
                    .set_description(s("Description"))
                    .set_environment(environment(i))
                    .set_memory_size(i["MemorySize"].as_i64().map(|m| m as i32))
                    .set_revision_id(s("RevisionId"))
            ),
            "PublishVersion" => sent!(
                l.publish_version()
                    .set_function_name(name)
                    .set_code_sha256(s("CodeSha256"))
                    .set_description(s("Description"))
                    .set_revision_id(s("RevisionId"))
            ),
            "ListVersionsByFunction" => {
                sent!(l.list_versions_by_function().set_function_name(name))
            }
            "DeleteFunction" => sent!(
                l.delete_function()
                    .set_function_name(name)
                    .set_qualifier(s("Qualifier"))
            ),
            _ => self.send_alias_or_policy(call, i).await,
        }
    }

    /// Aliases and resource policies.
    async fn send_alias_or_policy(
        &self,
        call: &str,
        i: &Value,
    ) -> Option<Result<(), (u16, String)>> {
        let s = |k: &str| i[k].as_str().map(str::to_owned);
        let l = &self.lambda;
        let name = s("FunctionName");
        match call {
            "CreateAlias" => sent!(
                l.create_alias()
                    .set_function_name(name)
                    .set_name(s("Name"))
                    .set_function_version(s("FunctionVersion"))
                    .set_description(s("Description"))
                    .set_routing_config(routing(i))
            ),
            "UpdateAlias" => sent!(
                l.update_alias()
                    .set_function_name(name)
                    .set_name(s("Name"))
                    .set_function_version(s("FunctionVersion"))
                    .set_description(s("Description"))
                    .set_routing_config(routing(i))
                    .set_revision_id(s("RevisionId"))
            ),
            "GetAlias" => sent!(l.get_alias().set_function_name(name).set_name(s("Name"))),
            "DeleteAlias" => sent!(l.delete_alias().set_function_name(name).set_name(s("Name"))),
            "AddPermission" => sent!(
                l.add_permission()
                    .set_function_name(name)
                    .set_qualifier(s("Qualifier"))
                    .set_statement_id(s("StatementId"))
                    .set_action(s("Action"))
                    .set_principal(s("Principal"))
                    .set_source_arn(s("SourceArn"))
            ),
            "RemovePermission" => sent!(
                l.remove_permission()
                    .set_function_name(name)
                    .set_qualifier(s("Qualifier"))
                    .set_statement_id(s("StatementId"))
            ),
            "GetPolicy" => sent!(
                l.get_policy()
                    .set_function_name(name)
                    .set_qualifier(s("Qualifier"))
            ),
            _ => None,
        }
    }
}

fn architectures(i: &Value) -> Option<Vec<Architecture>> {
    let names = i["Architectures"].as_array()?;
    Some(
        names
            .iter()
            .filter_map(Value::as_str)
            .map(Architecture::from)
            .collect(),
    )
}

fn environment(i: &Value) -> Option<Environment> {
    let vars = map_at(i, "/Environment/Variables", |v| {
        v.as_str().map(str::to_owned)
    })?;
    let vars = Some(vars.into_iter().collect());
    Some(Environment::builder().set_variables(vars).build())
}

fn routing(i: &Value) -> Option<AliasRoutingConfiguration> {
    let weights = map_at(i, "/RoutingConfig/AdditionalVersionWeights", Value::as_f64)?;
    let weights = Some(weights.into_iter().collect());
    Some(
        AliasRoutingConfiguration::builder()
            .set_additional_version_weights(weights)
            .build(),
    )
}
