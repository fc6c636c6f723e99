//! How Lambda reads a FunctionName (a name, `NAME:QUALIFIER` or an ARN) and what it allows
//! DeleteFunction of a version.
use std::collections::BTreeMap;

use super::Function;

/// Why Lambda refuses a FunctionName given as an ARN (or `NAME:QUALIFIER`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// ResourceNotFoundException (404): the ARN names another region; nothing there is
    /// reachable from this one (nor changed: the local cloud once deleted the function of its
    /// own region).
    OtherRegion { named: String, here: String },
    /// InvalidParameterValueException (400): the ARN's qualifier is not the `Qualifier` given.
    QualifierMismatch,
}

impl Address {
    pub fn message(&self) -> String {
        match self {
            Self::OtherRegion { named, here } => {
                format!("Functions from '{named}' are not reachable in this region ('{here}')")
            }
            Self::QualifierMismatch => {
                "The derived qualifier from the function name does not match the specified qualifier.".into()
            }
        }
    }
}

/// The function name and qualifier a FunctionName means in `region`: a name, `NAME:QUALIFIER`,
/// or an ARN `arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`; the qualifier of
/// the name and `qualifier` (the request's `Qualifier`) must agree. Recorded: LocalStack's
/// AWS-validated `test_get_function_wrong_region[delete_function]` and
/// `test_ops_with_arn_qualifier_mismatch[delete_function]` (test_lambda_api.py).
pub fn addressed(
    function_name: &str,
    region: &str,
    qualifier: Option<&str>,
) -> Result<(String, Option<String>), Address> {
    let (name, derived) = match function_name.split(':').collect::<Vec<_>>()[..] {
        [
            "arn",
            _,
            "lambda",
            named,
            _,
            "function",
            name,
            ref rest @ ..,
        ] => {
            if named != region {
                return Err(Address::OtherRegion {
                    named: named.to_owned(),
                    here: region.to_owned(),
                });
            }
            (name, rest.first().copied())
        }
        [name, derived] => (name, Some(derived)),
        _ => (function_name, None),
    };
    match (derived, qualifier) {
        (Some(d), Some(q)) if d != q => Err(Address::QualifierMismatch),
        _ => Ok((name.to_owned(), derived.or(qualifier).map(str::to_owned))),
    }
}

/// Why Lambda refuses DeleteFunction of a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deletion {
    /// InvalidParameterValueException: `$LATEST` is not deleted by qualifier.
    Latest,
    /// ResourceConflictException: aliases (by name) route to the version.
    Aliased(Vec<String>),
}

impl Deletion {
    pub fn message(&self) -> String {
        match self {
            Self::Latest => {
                "$LATEST version cannot be deleted without deleting the function.".into()
            }
            Self::Aliased(aliases) => format!(
                "Unable to delete version because the following aliases reference it: [{}]",
                aliases.join(", ")
            ),
        }
    }
}

/// DeleteFunction with `version` as qualifier, given each alias and the versions it routes to
/// (its main version and its routing weights): a version an alias routes to is refused; one
/// that does not exist, never published or deleted before, succeeds as nothing to do. A
/// deleted version's number is never handed out again: each model numbers on from every
/// version ever published (adversarial-3 #3, #9: the local cloud deleted an aliased version,
/// and reused pruned numbers, with their images).
/// (<https://docs.aws.amazon.com/lambda/latest/api/API_DeleteFunction.html>)
pub fn delete_version(
    function: &mut Function,
    version: &str,
    aliases: &BTreeMap<String, Vec<String>>,
) -> Result<(), Deletion> {
    if version == "$LATEST" {
        return Err(Deletion::Latest);
    }
    let referring: Vec<String> = aliases
        .iter()
        .filter(|(_, routes)| routes.iter().any(|v| v == version))
        .map(|(name, _)| name.clone())
        .collect();
    if !referring.is_empty() {
        return Err(Deletion::Aliased(referring));
    }
    function.versions.remove(version);
    Ok(())
}
