//! The oracle: what the world itself saw, never what the code under test wrote (no ledger, no
//! tag, no description is believed). Checked after every call that changed the world.
use std::collections::{BTreeMap, BTreeSet};

use super::actor::Role;
use bgd_core::{
    cloud::AliasTarget,
    outcome::{Exit, Green, Moved},
};

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
    /// Version → the checks blue passed answered by it, and the versions that passed all.
    blue_versions: BTreeMap<String, u8>,
    pub verified_versions: BTreeSet<String>,
    /// A rollback moved green last (and no unpin since).
    pub pinned: bool,
    /// The current stage blue: its holder and whether its TTL passed.
    pub lock: Option<(Holder, bool)>,
    /// The run that took the current lock has ended (a hold it left, or a crash): removing
    /// the lock robs no running run, and the holder's next run is a new process.
    lock_left: bool,
    /// Actors whose live lock another run removed (without --break-lock): from then on a write
    /// of theirs is a second holder at work.
    robbed: BTreeMap<usize, usize>,
    /// Actors whose last call read stage blue while the lock was theirs: the check a run
    /// makes right before each write of green.
    checked: BTreeSet<usize>,
    /// Actors whose expired lock another run took over right after they checked it, until
    /// their next call: the write of green that follows the check may land. DeleteStage is
    /// not conditional, so that one write is the residual the pipeline can narrow but not
    /// close; a write with no check right before it, or a second one, is a second holder.
    expired_under: BTreeSet<usize>,
    /// Actors whose next call is a write of green (sent, not yet arrived).
    sending_green: BTreeSet<usize>,
    /// The last write of green that landed: its actor.
    green_writer: Option<usize>,
    /// Actor → who had written green last when the actor last read it.
    green_read: BTreeMap<usize, Option<usize>>,
    /// Actors that sent a write of green (landed or not), and those one of whose landed.
    sent_green: BTreeSet<usize>,
    moved_green: BTreeSet<usize>,
    /// Version → the `promote` that brought it to green.
    promoted: BTreeMap<String, usize>,
    pub violations: Vec<String>,
}

impl Oracle {
    pub(super) fn blue_check(
        &mut self,
        (digest, version): (&str, &str),
        on_blue: bool,
        check: BlueCheck,
    ) {
        if !on_blue {
            return;
        }
        let bits = self.blue.entry(digest.to_owned()).or_default();
        *bits |= 1 << check as u8;
        if *bits == 0b1111 {
            self.verified.insert(digest.to_owned());
        }
        let bits = self.blue_versions.entry(version.to_owned()).or_default();
        *bits |= 1 << check as u8;
        if *bits == 0b1111 {
            self.verified_versions.insert(version.to_owned());
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

    /// Alias `green` moved from `from` to `to` by `actor` in role `role` (the write landed). A
    /// deploy or promote moves it only holding the lock (a rollback of a verified version
    /// needs none); a `promote` brings a version to green at most once.
    pub(super) fn green_moved(
        &mut self,
        actor: usize,
        role: &Role,
        from: Option<&AliasTarget>,
        to: &AliasTarget,
    ) {
        self.green_writer = Some(actor);
        self.moved_green.insert(actor);
        let moves = from != Some(to);
        let holds = matches!(self.lock, Some((Holder::Actor(holder), _)) if holder == actor);
        // The one write a run whose expired lock was just taken over may land (see
        // `expired_under`): allowed once, then gone.
        let raced = !holds && self.expired_under.remove(&actor);
        let (from_s, to_s) = (from.map_or("none".into(), routing), routing(to));
        if moves && matches!(role, Role::Deploy(_) | Role::Promote) && !holds && !raced {
            self.violation(format!(
                "actor {actor} ({role}) moved green {from_s} → {to_s} without holding the lock"
            ));
        }
        if *role == Role::Promote {
            for version in
                versions(to).filter(|v| !from.is_some_and(|f| versions(f).any(|w| w == *v)))
            {
                match self.promoted.insert(version.to_owned(), actor) {
                    Some(first) if first != actor => self.violation(format!(
                        "version {version} of one hold brought to green twice: by actor {first}, then by actor {actor}"
                    )),
                    _ => {}
                }
            }
        }
        match role {
            Role::Rollback { .. } => self.pinned = true,
            Role::Unpin => self.pinned = false,
            Role::Deploy(deploy) if deploy.unpin => self.pinned = false,
            _ if self.pinned && moves => self.violation(format!(
                "actor {actor} ({role}) moved green {from_s} → {to_s} while a rollback pinned it"
            )),
            _ => {}
        }
    }

    /// `actor` sends a write of green.
    pub(super) fn green_sent(&mut self, actor: usize) {
        self.sent_green.insert(actor);
        self.sending_green.insert(actor);
    }

    /// A call of `actor`'s arrives: a check of the lock counts for the call right after it
    /// only, and the allowance of a write racing the takeover for a write of green only.
    pub(super) fn calls(&mut self, actor: usize) {
        self.checked.remove(&actor);
        if !self.sending_green.remove(&actor) {
            self.expired_under.remove(&actor);
        }
    }

    /// `actor` read stage blue: while the lock is its own, that is the check before a write.
    pub(super) fn lock_read(&mut self, actor: usize) {
        if self
            .lock
            .is_some_and(|(holder, _)| holder == Holder::Actor(actor))
        {
            self.checked.insert(actor);
        }
    }

    /// `actor` read green (GetAlias).
    pub(super) fn green_read(&mut self, actor: usize) {
        self.green_read.insert(actor, self.green_writer);
    }

    /// The statement `actor` closed with (`green`, read by its last read of green) and how it
    /// ended (`exit`, `None` when it succeeded): it moved green only if a write of its own
    /// landed; where its own write is the last that landed and green differs from how it
    /// found it, it says so; exit 3 only after it sent a write of green.
    pub(super) fn stated(&mut self, actor: usize, role: &Role, green: &Green, exit: Option<Exit>) {
        let who = format!("actor {actor} ({role})");
        if exit == Some(Exit::GreenMoved) && !self.sent_green.contains(&actor) {
            self.violation(format!(
                "{who} exited 3 (green moved) without sending a write of green: {green}"
            ));
        }
        if green.read_error.is_some() {
            return;
        }
        if green.moved == Moved::ByThisRun && !self.moved_green.contains(&actor) {
            self.violation(format!(
                "{who} stated it moved green, but no write of its landed: {green}"
            ));
        }
        let last_is_own = self.green_read.get(&actor) == Some(&Some(actor));
        let differs = green.weights != green.before_weights;
        let honest = matches!(green.moved, Moved::ByThisRun | Moved::Unknown);
        if last_is_own && differs && !honest {
            self.violation(format!(
                "{who} stated \"{green}\", but green is where its own write put it"
            ));
        }
        let owned = matches!(exit, None | Some(Exit::GreenMoved | Exit::RolledBack));
        if last_is_own && differs && !owned {
            self.violation(format!(
                "{who} failed with {exit:?}, not exit 3, though it moved green: {green}"
            ));
        }
    }

    pub(super) fn lock_taken(&mut self, holder: Holder) {
        self.lock = Some((holder, false));
        self.lock_left = false;
    }

    /// `actor`'s run ended (or its process died): a lock it holds is left behind.
    pub(super) fn run_ended(&mut self, actor: usize) {
        if self
            .lock
            .is_some_and(|(holder, _)| holder == Holder::Actor(actor))
        {
            self.lock_left = true;
        }
    }

    /// Stage blue deleted by `actor`: only its own lock, an expired one, or with --break-lock.
    /// An operator's lock cannot notice; a run's holder must notice before it writes again.
    pub(super) fn lock_removed(&mut self, actor: usize, break_lock: bool) {
        let Some((holder, expired)) = self.lock.take() else {
            return;
        };
        if let (Holder::Actor(holder), true) = (holder, expired)
            && holder != actor
            && self.checked.contains(&holder)
        {
            self.expired_under.insert(holder);
        }
        if holder == Holder::Actor(actor) || expired || break_lock || self.lock_left {
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

/// Every version `target` routes to.
fn versions(target: &AliasTarget) -> impl Iterator<Item = &str> {
    std::iter::once(target.version.as_str())
        .chain(target.additional_weights.keys().map(String::as_str))
}

/// An alias's routing as the trace shows it: `3`, or `3 + 4 at 10%` for a split.
pub(super) fn routing(target: &AliasTarget) -> String {
    target
        .additional_weights
        .iter()
        .fold(target.version.clone(), |shown, (version, share)| {
            format!("{shown} + {version} at {}%", (share * 100.0).round())
        })
}

#[cfg(test)]
mod tests {
    use super::{Holder, Oracle, Role};
    use bgd_core::{
        cloud::AliasTarget,
        outcome::{Exit, Green, GreenWrites},
    };

    /// The loser of two rollbacks to one version (adversarial-3, critical 1): its write was
    /// refused, yet green serves its target. Had the statement judged it moved by this run,
    /// with exit 3, the oracle must say so.
    #[test]
    fn a_statement_that_claims_a_move_no_landed_write_made_is_a_violation() {
        let mut oracle = Oracle::default();
        let (winner, loser) = (1, 2);
        let (from, to) = (AliasTarget::version("3"), AliasTarget::version("2"));
        oracle.green_sent(winner);
        oracle.green_sent(loser);
        oracle.green_moved(winner, &Role::Status, Some(&from), &to);
        oracle.green_read(loser);
        let mut writes = GreenWrites::default();
        writes.sent(&to);
        writes.answered(&to, true);
        let lie = Green::judge(Some(from), Ok(Some(served(to))), &writes);
        oracle.stated(
            loser,
            &Role::Rollback { to: Some(2) },
            &lie,
            Some(Exit::GreenMoved),
        );
        assert!(
            oracle
                .violations
                .iter()
                .any(|v| v.contains("no write of its landed")),
            "{:?}",
            oracle.violations
        );
    }

    /// Actor 1's expired lock is taken over by actor 2; then actor 1's write of green lands.
    /// Allowed only as the write right after actor 1's check of its lock (seed 593's race):
    /// `checks` says whether that check came right before.
    fn write_after_takeover(checks: bool) -> Vec<String> {
        let mut oracle = Oracle::default();
        let (holder, taker) = (1, 2);
        let deploy = Role::Deploy(crate::actor::Deploy::of(1));
        oracle.lock_taken(Holder::Actor(holder));
        oracle.calls(holder);
        oracle.lock_read(holder);
        if !checks {
            oracle.calls(holder);
        }
        oracle.lock = Some((Holder::Actor(holder), true));
        oracle.calls(taker);
        oracle.lock_removed(taker, false);
        oracle.lock_taken(Holder::Actor(taker));
        oracle.green_sent(holder);
        oracle.calls(holder);
        let (from, to) = (AliasTarget::version("1"), AliasTarget::version("2"));
        oracle.green_moved(holder, &deploy, Some(&from), &to);
        oracle.violations
    }

    #[test]
    fn a_write_racing_the_takeover_of_its_lock_is_allowed_only_right_after_its_check() {
        assert_eq!(write_after_takeover(true), Vec::<String>::new());
        let violations = write_after_takeover(false);
        assert!(
            violations
                .iter()
                .any(|v| v.contains("without holding the lock")),
            "{violations:?}"
        );
    }

    /// Seed 20061 of the 100,000-run batch: actor 4's held deploy ended, leaving its hold; a
    /// second person's abort (actor 3) removed it as actor 4's own abort, a new process, was
    /// deleting it too. No running run was robbed of its lock.
    #[test]
    fn removing_a_lock_its_run_left_behind_robs_no_one() {
        let mut oracle = Oracle::default();
        oracle.lock_taken(Holder::Actor(4));
        oracle.run_ended(4);
        oracle.lock_removed(3, false);
        oracle.writes(4, "DeleteStage blue");
        assert_eq!(oracle.violations, Vec::<String>::new());
        oracle.lock_taken(Holder::Actor(4));
        oracle.lock_removed(3, false);
        oracle.writes(4, "UpdateAlias sim:green");
        assert_eq!(oracle.violations.len(), 1, "a running holder robbed");
    }

    fn served(target: AliasTarget) -> bgd_core::outcome::Served {
        bgd_core::outcome::Served {
            target,
            git_sha: None,
            build_id: None,
        }
    }
}
