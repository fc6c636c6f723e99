//! An alias's routing configuration and why Lambda refuses one.
use std::collections::BTreeMap;

use super::Function;

/// Why Lambda refuses an alias's routing configuration (CreateAlias, UpdateAlias).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routing {
    /// ValidationException: the API model's constraints on `AdditionalVersionWeights` (a key
    /// of digits, a weight from 0.0 to 1.0), checked before anything else.
    Constraint(String),
    /// ResourceNotFoundException: the additional version was never published.
    NotFound(String),
    /// InvalidParameterValueException: the routing rules of the Lambda guide.
    Invalid(String),
}

impl Routing {
    pub fn message(&self) -> &str {
        match self {
            Self::Constraint(m) | Self::NotFound(m) | Self::Invalid(m) => m,
        }
    }
}

/// An alias's routing configuration: `main` (its FunctionVersion) takes what `weights` leave.
/// The API model (<https://docs.aws.amazon.com/lambda/latest/api/API_AliasRoutingConfiguration.html>):
/// keys match `[0-9]+`, weights lie in 0.0..=1.0. The guide
/// (<https://docs.aws.amazon.com/lambda/latest/dg/configuring-alias-routing.html>): an alias
/// points to at most two versions, both published (not `$LATEST`), with the same execution role
/// and the same dead-letter queue configuration (or none). A version routed to beside itself is
/// refused too. `name` is how the not-found message names the function.
pub fn routing_refusal(
    function: &Function,
    name: &str,
    main: &str,
    weights: &BTreeMap<String, f64>,
) -> Option<Routing> {
    let shown = || format!("{weights:?}");
    let digits = |v: &str| (1..=1024).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit());
    if !weights.keys().all(|v| digits(v)) {
        return Some(Routing::Constraint(format!(
            "1 validation error detected: Value '{}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [0-9]+]",
            shown()
        )));
    }
    if !weights.values().all(|w| (0.0..=1.0).contains(w)) {
        return Some(Routing::Constraint(format!(
            "1 validation error detected: Value '{}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0]",
            shown()
        )));
    }
    let [(extra, _)] = weights.iter().collect::<Vec<_>>()[..] else {
        return (weights.len() > 1).then(|| {
            Routing::Invalid(format!(
                "An alias can point to at most 2 versions: the routing configuration names {} additional versions",
                weights.len()
            ))
        });
    };
    if main == "$LATEST" {
        return Some(Routing::Invalid(
            "$LATEST is not supported for an alias pointing to more than 1 version".into(),
        ));
    }
    if extra == main {
        return Some(Routing::Invalid(format!(
            "The additional version {extra} in the routing configuration must be different from the alias's FunctionVersion {main}"
        )));
    }
    let Some(added) = function.versions.get(extra) else {
        return Some(Routing::NotFound(format!(
            "Function not found: {name}:{extra}"
        )));
    };
    // The main version is moto's to find (it answers ResourceNotFound for one never published).
    let main_runs = &function.versions.get(main)?.runs_as;
    if main_runs.role != added.runs_as.role {
        return Some(Routing::Invalid(format!(
            "The versions of an alias must have the same execution role: version {main} runs as {}, version {extra} as {}",
            main_runs.role, added.runs_as.role
        )));
    }
    if main_runs.dead_letter != added.runs_as.dead_letter {
        let shown = |d: &Option<String>| d.clone().unwrap_or_else(|| "none".into());
        return Some(Routing::Invalid(format!(
            "The versions of an alias must have the same dead-letter queue configuration: version {main} has {}, version {extra} has {}",
            shown(&main_runs.dead_letter),
            shown(&added.runs_as.dead_letter)
        )));
    }
    None
}
