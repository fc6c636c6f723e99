//! The oracle: what the world itself saw, never what the code under test wrote (no ledger, no
//! tag, no description is believed). Checked after every call that changed the world.
use std::collections::{BTreeMap, BTreeSet};

use super::actor::Role;

/// A check blue passed for an image, as the data plane answered it.
#[derive(Debug, Clone, Copy)]
pub(super) enum BlueCheck {
    /// The self-report, with the token.
    Reported,
    /// The app's own 403 without the token.
    Refused,
    Healthy,
    Smoke,
}

/// Who holds stage blue, as the world saw it created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Holder {
    Actor(usize),
    /// Made outside bgd ([`super::fault::Fault::ForeignLock`]).
    Foreign,
}

#[derive(Debug, Default)]
pub(super) struct Oracle {
    /// Digest → the checks blue passed for it.
    blue: BTreeMap<String, u8>,
    /// Images blue verified in this world (or the set-up's provision did, on its blue).
    pub verified: BTreeSet<String>,
    /// A rollback moved green last (and no unpin since).
    pub pinned: bool,
    /// The current stage blue: its holder and whether its TTL passed.
    pub lock: Option<(Holder, bool)>,
    /// Actors whose live lock another run removed (without --break-lock): from then on a write
    /// of theirs is a second holder at work.
    robbed: BTreeMap<usize, usize>,
    pub violations: Vec<String>,
}

impl Oracle {
    pub(super) fn blue_check(&mut self, digest: &str, on_blue: bool, check: BlueCheck) {
        if !on_blue {
            return;
        }
        let bits = self.blue.entry(digest.to_owned()).or_default();
        *bits |= 1 << check as u8;
        if *bits == 0b1111 {
            self.verified.insert(digest.to_owned());
        }
    }

    fn violation(&mut self, what: String) {
        if !self.violations.contains(&what) {
            self.violations.push(what);
        }
    }

    /// Green as it now is: it may serve only an image blue verified.
    pub(super) fn green_serves(&mut self, version: &str, digest: Option<&str>) {
        match digest {
            Some(digest) if self.verified.contains(digest) => {}
            _ => self.violation(format!(
                "green serves version {version} (image {}) that blue never verified",
                digest.map_or("?", |d| &d[..d.len().min(19)])
            )),
        }
    }

    /// Alias `green` moved from `from` to `to` by `actor` in role `role`. A deploy moves it
    /// only holding the lock (a rollback of a verified version needs none).
    pub(super) fn green_moved(&mut self, actor: usize, role: &Role, from: &str, to: &str) {
        let moves = from != to;
        let holds = matches!(self.lock, Some((Holder::Actor(holder), _)) if holder == actor);
        if moves && matches!(role, Role::Deploy(_)) && !holds {
            self.violation(format!(
                "actor {actor} ({role}) moved green {from} → {to} without holding the lock"
            ));
        }
        match role {
            Role::Rollback { .. } => self.pinned = true,
            Role::Unpin => self.pinned = false,
            Role::Deploy(deploy) if deploy.unpin => self.pinned = false,
            _ if self.pinned && moves => self.violation(format!(
                "actor {actor} ({role}) moved green {from} → {to} while a rollback pinned it"
            )),
            _ => {}
        }
    }

    pub(super) fn lock_taken(&mut self, holder: Holder) {
        self.lock = Some((holder, false));
    }

    /// Stage blue deleted by `actor`: only its own lock, an expired one, or with --break-lock.
    /// An operator's lock cannot notice; a run's holder must notice before it writes again.
    pub(super) fn lock_removed(&mut self, actor: usize, break_lock: bool) {
        let Some((holder, expired)) = self.lock.take() else {
            return;
        };
        if holder == Holder::Actor(actor) || expired || break_lock {
            return;
        }
        match holder {
            Holder::Actor(robbed) => {
                self.robbed.insert(robbed, actor);
            }
            Holder::Foreign => self.violation(format!(
                "actor {actor} removed an operator's live lock without --break-lock"
            )),
        }
    }

    /// Before `actor` writes: it must not be a holder whose lock was taken from it.
    pub(super) fn writes(&mut self, actor: usize, operation: &str) {
        if let Some(by) = self.robbed.get(&actor).copied() {
            self.violation(format!(
                "actor {actor} wrote ({operation}) after actor {by} removed its live lock: two runs held the lock"
            ));
        }
    }

    pub(super) fn read_only_wrote(&mut self, actor: usize, role: &Role, operation: &str) {
        self.violation(format!(
            "actor {actor} ({role}, read-only) sent the write {operation}"
        ));
    }

    pub(super) fn fail(&mut self, what: String) {
        self.violation(what);
    }
}
