//! Lambda's aliases in the in-memory AWS: created, moved (guarded by their RevisionId), read and
//! deleted by Lambda's rules on routing; every read and move of green told to the oracle.
use super::super::{
    actor::Role,
    aws::{error, invalid, not_found, refused},
    world::{SimAlias, World},
};
use bgd_core::{
    cloud::{Alias, AliasTarget, CloudResult, ErrorKind, Operation},
    pipeline::GREEN,
};
use bgd_rules::lambda::{Function, Routing, alias_moved, routing_refusal};

/// An alias and where it is to point.
pub(in super::super) struct Move<'a> {
    pub function: &'a str,
    pub alias: &'a str,
    pub target: &'a AliasTarget,
}

/// The caller: an actor, in its role (what the oracle judges a move of green by).
type Caller<'a> = (usize, &'a Role);

pub(in super::super) fn get(w: &mut World, actor: usize, alias: &str) -> CloudResult<Alias> {
    if alias == GREEN {
        w.oracle.green_read(actor);
    }
    alias_of(w, alias).ok_or_else(|| not_found(Operation::GetAlias, alias))
}

pub(in super::super) fn create(
    w: &mut World,
    (actor, role): Caller<'_>,
    to: &Move<'_>,
    description: &str,
) -> CloudResult<Alias> {
    let (op, alias, target) = (Operation::CreateAlias, to.alias, to.target);
    if let Some(why) = bgd_rules::alias_name_error(alias) {
        return Err(invalid(op, alias, why));
    }
    if w.lambda.aliases.contains_key(alias) {
        return Err(error(
            ErrorKind::Conflict,
            op,
            alias,
            "Alias already exists",
        ));
    }
    let revision = w.revision();
    let (f, _) = super::function(w, op, to.function)?;
    if target.version != "$LATEST" && !f.versions.contains_key(&target.version) {
        return Err(not_found(op, &target.version));
    }
    routed(f, op, to)?;
    f.aliases.insert(alias.to_owned(), revision);
    let created = SimAlias {
        target: target.version.clone(),
        weights: target.additional_weights.clone(),
        description: description.to_owned(),
        previous: None,
    };
    w.lambda.aliases.insert(alias.to_owned(), created);
    if alias == GREEN {
        w.oracle.green_moved(actor, role, None, target);
    }
    alias_of(w, alias).ok_or_else(|| not_found(op, alias))
}

pub(in super::super) fn update(
    w: &mut World,
    (actor, role): Caller<'_>,
    to: &Move<'_>,
    description: Option<&str>,
    revision_id: Option<&str>,
) -> CloudResult<Alias> {
    let (op, alias, target) = (Operation::UpdateAlias, to.alias, to.target);
    if let Some(why) = description.and_then(bgd_rules::description_error) {
        return Err(invalid(op, alias, why));
    }
    let revision = w.revision();
    let (f, _) = super::function(w, op, to.function)?;
    let current = f
        .aliases
        .get(alias)
        .cloned()
        .ok_or_else(|| not_found(op, alias))?;
    if let Some(refusal) = alias_moved(Some(&current), revision_id) {
        return Err(refused(&refusal, op, alias));
    }
    if !f.versions.contains_key(&target.version) {
        return Err(not_found(op, &target.version));
    }
    routed(f, op, to)?;
    f.aliases.insert(alias.to_owned(), revision);
    let from = alias_of(w, alias).map(|a| a.target);
    w.set_alias(alias, target, description);
    if alias == GREEN {
        w.oracle.green_moved(actor, role, from.as_ref(), target);
    }
    alias_of(w, alias).ok_or_else(|| not_found(op, alias))
}

/// DeleteAlias: the alias and its resource policy go; one that does not exist is no error
/// (recorded: LocalStack's AWS-validated `test_non_existent_alias_deletion`, 204). `false`
/// when there is no function.
pub(in super::super) fn delete(w: &mut World, alias: &str) -> bool {
    let Some((f, _)) = w.lambda.function.as_mut() else {
        return false;
    };
    f.aliases.remove(alias);
    f.policies.remove(alias);
    w.lambda.aliases.remove(alias);
    true
}

/// Lambda's rule on an alias's routing configuration, as the front applies it.
fn routed(f: &Function, op: Operation, to: &Move<'_>) -> CloudResult<()> {
    let (version, weights) = (&to.target.version, &to.target.additional_weights);
    match routing_refusal(f, to.function, version, weights) {
        None => Ok(()),
        Some(Routing::NotFound(why)) => Err(error(ErrorKind::NotFound, op, to.alias, &why)),
        Some(refusal) => Err(invalid(op, to.alias, refusal.message().to_owned())),
    }
}

fn alias_of(w: &World, alias: &str) -> Option<Alias> {
    let (function, _) = w.lambda.function.as_ref()?;
    let sim = w.lambda.aliases.get(alias)?;
    Some(Alias {
        name: alias.into(),
        target: AliasTarget {
            version: sim.target.clone(),
            additional_weights: sim.weights.clone(),
        },
        description: sim.description.clone(),
        revision_id: function.aliases.get(alias).cloned(),
    })
}
