//! The locks the simulated world puts in stage blue itself: a holder's lock expiring under it,
//! another run's takeover, an operator's stage blue, a dead run's lock.
use bgd_core::{
    ledger::Lock,
    pipeline::{BLUE, TOKEN_VARIABLE},
};

use crate::{
    fault,
    oracle::Holder,
    world::{self, World},
};

/// The holder stalled past its TTL: the lock's expiry (wall-clock seconds, as `Lock` keeps it)
/// moves into the past, as every actor's clock sees it.
pub(crate) fn expire_lock(w: &mut World) {
    let expired = w.epoch_s().saturating_sub(1 + world::MAX_SKEW_S);
    if rewrite_lock(w, expired, None)
        && let Some((holder, _)) = w.oracle.lock
    {
        w.oracle.lock = Some((holder, true));
    }
}

/// Run `taker` takes the lock over once its TTL passed: stage blue deleted, then created again
/// as the taker's (its own expiry and token), as `take_lock` does.
pub(super) fn take_over(w: &mut World, taker: usize) {
    expire_lock(w);
    let expires = w.epoch_s() + 600;
    if rewrite_lock(w, expires, Some(format!("token-of-a{taker}"))) {
        w.oracle.lock_removed(taker, false);
        w.oracle.lock_taken(Holder::Actor(taker));
    }
}

/// Stage blue's lock, if bgd wrote it, given `expires` and, when one is given, another
/// holder's `token`; whether there was such a lock.
fn rewrite_lock(w: &mut World, expires: u64, token: Option<String>) -> bool {
    let Some(blue) = w.gateway.stages.get_mut(BLUE) else {
        return false;
    };
    let Ok(mut lock) = Lock::parse(&blue.stage.description) else {
        return false;
    };
    lock.expires = expires;
    blue.stage.description = lock.to_description();
    if let Some(token) = token {
        blue.stage.variables.insert(TOKEN_VARIABLE.into(), token);
    }
    true
}

/// An operator's stage blue, not bgd's format of expiry: live until --break-lock.
pub(crate) fn foreign_lock(w: &mut World) {
    let description = "bgd g=0000000 expires=later lock=operator@console";
    place_lock(w, description.into(), None, Holder::Foreign);
}

/// The lock of a run that died (its machine lost) with its TTL passed: any run may take it
/// over, and a dry run must leave it.
pub(crate) fn dead_runs_expired_lock(w: &mut World) {
    let lock = Lock {
        holder: format!("a{}", fault::OUTSIDER),
        git_sha: String::new(),
        expires: 0,
        kept: false,
        hold: None,
        task: Default::default(),
    };
    let token = format!("token-of-a{}", fault::OUTSIDER);
    place_lock(
        w,
        lock.to_description(),
        Some(token),
        Holder::Actor(fault::OUTSIDER),
    );
    w.oracle.run_ended(fault::OUTSIDER);
    expire_lock(w);
}

/// Stage blue, when there is none, as `holder` created it: `description` and its token.
fn place_lock(w: &mut World, description: String, token: Option<String>, holder: Holder) {
    if w.gateway.stages.contains_key(BLUE) || w.gateway.api.is_none() {
        return;
    }
    let now = w.now();
    let variables = [(
        bgd_core::pipeline::ALIAS_VARIABLE.to_owned(),
        BLUE.to_owned(),
    )]
    .into_iter()
    .chain(token.map(|t| (TOKEN_VARIABLE.to_owned(), t)))
    .collect();
    let stage = bgd_core::cloud::Stage {
        name: BLUE.into(),
        deployment_id: "dep-left".into(),
        variables,
        description,
    };
    w.gateway.stages.insert(
        BLUE.into(),
        world::SimStage {
            stage,
            served_at: now,
        },
    );
    w.oracle.lock_taken(holder);
}
