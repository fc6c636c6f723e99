//! The faults injected at cloud, registry and stage calls, drawn from the run's seed.
use std::{collections::BTreeMap, fmt};

use rand::{Rng, rngs::SmallRng};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Fault {
    /// The process dies before the request leaves: nothing applied.
    CrashBefore,
    /// AWS applied the request; the process died before the answer arrived.
    CrashAfter,
    /// No answer in time; whether AWS applied it is unknown to the caller.
    Timeout { applied: bool },
    /// TooManyRequestsException after the SDK's own retries gave up: nothing applied.
    Throttle,
    /// ResourceConflictException (Lambda writes): another update is in progress.
    Conflict,
    /// AWS applied the request and answered, late: the caller stalled as long as a timeout
    /// (a pause of the deploying machine, a slow network).
    Stall,
    /// The lock's holder stalled past its TTL: the lock expires under it.
    LockExpiry,
    /// Someone outside bgd (an operator, an older tool) created stage blue with a description
    /// whose expiry cannot be read: a live lock only `--break-lock` may end.
    ForeignLock,
    /// The lock's holder stalled past its TTL and run `by` took it over (its DeleteStage and
    /// CreateStage) just before this call arrived. Drawn, `by` is [`OUTSIDER`]: landing on a
    /// holder's write of green it is the race between its last check and that write, which
    /// lock expiries alone, needing another actor at the lock that moment, seldom met.
    TakenOver { by: usize },
}

/// The run a drawn takeover gives the lock to, and whose dead run's lock a run may meet: a
/// machine outside the storm, which never writes.
pub(crate) const OUTSIDER: usize = 99;

impl Fault {
    pub(crate) fn kind(self) -> &'static str {
        match self {
            Self::CrashBefore => "crash-before-request",
            Self::CrashAfter => "crash-after-apply",
            Self::Timeout { .. } => "timeout",
            Self::Throttle => "throttle",
            Self::Conflict => "conflict",
            Self::Stall => "stall",
            Self::LockExpiry => "lock-expiry",
            Self::ForeignLock => "foreign-lock",
            Self::TakenOver { .. } => "taken-over",
        }
    }
}

/// A fault a scenario sets: on the `nth` call (from 1) of actor `actor` whose name (as the
/// trace shows it) starts with `call`: "fail call k of operation X".
#[derive(Debug, Clone)]
pub(crate) struct Scripted {
    pub actor: usize,
    pub call: &'static str,
    pub nth: usize,
    pub fault: Fault,
}

/// The scripted faults of a world and how many matching calls each has met.
#[derive(Debug, Default)]
pub(crate) struct Script(Vec<(Scripted, usize)>);

impl Script {
    /// The named scenarios script their faults; a batch draws its own.
    #[cfg(test)]
    pub(crate) fn new(faults: impl IntoIterator<Item = Scripted>) -> Self {
        Self(faults.into_iter().map(|f| (f, 0)).collect())
    }

    /// The fault scripted for this call of `actor`'s, if any.
    pub(crate) fn fault(&mut self, actor: usize, call: &str) -> Option<Fault> {
        let mut fault = None;
        for (scripted, seen) in &mut self.0 {
            if scripted.actor == actor && call.starts_with(scripted.call) {
                *seen += 1;
                if *seen == scripted.nth {
                    fault = Some(scripted.fault);
                }
            }
        }
        fault
    }
}

/// How often each fault is drawn: per call, out of 10,000.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rates {
    pub crash: u32,
    pub timeout: u32,
    pub throttle: u32,
    pub conflict: u32,
    pub lock: u32,
}

impl Rates {
    /// A run's rates, drawn from its seed: some runs calm, some stormy.
    pub(crate) fn draw(rng: &mut SmallRng) -> Self {
        let storm = rng.random_range(0..4u32);
        Self {
            crash: 40 * storm,
            timeout: 40 * storm,
            throttle: 30 * storm,
            conflict: 60 * storm,
            lock: 30 * storm,
        }
    }

    /// The fault drawn for a call: a `write`, a `lambda_write` (which may meet a conflict), a
    /// `green_write` (green's, or the verification tag just before it). A takeover is drawn
    /// sixteen times as often at those: the race between a holder's last check of its lock and
    /// its write of green is the one the pipeline narrows and the oracle judges, and drawn at
    /// any call alike it landed there seldom (the mutant "a deploy promotes without checking it
    /// still holds the lock" was caught after 4,828 runs).
    pub(crate) fn fault(
        &self,
        rng: &mut SmallRng,
        (write, lambda_write, green_write): (bool, bool, bool),
    ) -> Option<Fault> {
        let roll = rng.random_range(0..10_000u32);
        let mut bands = vec![
            (self.crash, Fault::CrashBefore),
            (self.crash, Fault::CrashAfter),
            (self.throttle, Fault::Throttle),
            (self.lock, Fault::LockExpiry),
            (self.lock / 4, Fault::ForeignLock),
            (
                if green_write {
                    self.lock * 4
                } else {
                    self.lock / 4
                },
                Fault::TakenOver { by: OUTSIDER },
            ),
        ];
        let applied = write && rng.random_bool(0.5);
        bands.push((self.timeout, Fault::Timeout { applied }));
        bands.push((self.timeout / 4, Fault::Stall));
        if lambda_write {
            bands.push((self.conflict, Fault::Conflict));
        }
        let mut edge = 0;
        for (width, fault) in bands {
            edge += width;
            if roll < edge {
                return Some(fault);
            }
        }
        None
    }
}

/// Faults injected, by kind.
#[derive(Debug, Default, Clone)]
pub struct FaultCounts(pub(crate) BTreeMap<&'static str, u64>);

impl FaultCounts {
    pub(crate) fn add(&mut self, fault: Fault) {
        *self.0.entry(fault.kind()).or_default() += 1;
    }

    pub(crate) fn merge(&mut self, other: &Self) {
        for (kind, n) in &other.0 {
            *self.0.entry(kind).or_default() += n;
        }
    }
}

impl fmt::Display for FaultCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(k, n)| format!("{k} {n}")).collect();
        if parts.is_empty() {
            write!(f, "none")
        } else {
            write!(f, "{}", parts.join(", "))
        }
    }
}
