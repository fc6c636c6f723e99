//! The clock the ledger stamps its records with: the wall clock, the simulation's virtual one
//! on its thread, or a machine's skewed one inside [`skewed`].
use std::{
    cell::Cell,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

thread_local! {
    /// The simulation's clock on its thread: the epoch second its run began at, and when.
    static VIRTUAL_EPOCH: Cell<Option<(u64, tokio::time::Instant)>> = const { Cell::new(None) };
}

tokio::task_local! {
    /// How far this machine's clock is off, in seconds, inside [`skewed`].
    static SKEW: i64;
}

/// Seconds since the Unix epoch: the wall clock, except on a thread inside [`virtual_clock`],
/// where publication times and lock expiries must replay alike for one seed; inside
/// [`skewed`], as far off as that machine's clock is.
pub fn epoch_seconds() -> u64 {
    let now = match VIRTUAL_EPOCH.get() {
        Some((epoch, start)) => epoch.saturating_add(start.elapsed().as_secs()),
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs(),
    };
    now.saturating_add_signed(SKEW.try_with(|s| *s).unwrap_or(0))
}

/// Runs `work` on a machine whose clock is `skew` seconds off: the simulation's actors are
/// separate machines, and every time one writes (a lock's expiry, a bake's end, a record's
/// time) or judges (expired? baked?) is its own clock's.
pub async fn skewed<F: std::future::Future>(skew: i64, work: F) -> F::Output {
    SKEW.scope(skew, work).await
}

/// Now by [`epoch_seconds`], as a `SystemTime`: where traffic is counted from, on the clock
/// the run's records use (a rollout's start read from the wall clock counted no traffic in
/// the simulation, whose CloudWatch follows the virtual one).
pub fn system_now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(epoch_seconds())
}

/// Until the guard drops, [`epoch_seconds`] on this thread starts at `epoch` and follows
/// tokio's clock (paused in the simulation), not the wall clock. Call it inside the runtime.
pub fn virtual_clock(epoch: u64) -> VirtualClock {
    VIRTUAL_EPOCH.set(Some((epoch, tokio::time::Instant::now())));
    VirtualClock
}

/// Restores the wall clock on drop.
pub struct VirtualClock;

impl Drop for VirtualClock {
    fn drop(&mut self) {
        VIRTUAL_EPOCH.set(None);
    }
}

/// RFC 3339 UTC of the current time.
pub(crate) fn now_rfc3339() -> String {
    rfc3339(epoch_seconds())
}

/// The one civil-date conversion (and its inverse), shared with the data plane's log lines.
pub use bgd_rules::clock::{epoch_of, rfc3339};

/// How long before its credentials expire a run ends: its cleanup (bounded at 30 s) and a
/// rollout's revert still need them (past the expiry, the revert itself failed on ExpiredToken:
/// aws-audit-3 N2).
pub const CREDENTIALS_RESERVE: Duration = Duration::from_secs(2 * 60);

/// When a run ends: `timeout_s` from now, or [`CREDENTIALS_RESERVE`] before its credentials
/// expire, whichever comes first (the credentials' expiry judged by [`system_now`], so the
/// simulation's machines judge it by their virtual clocks).
pub fn run_deadline(
    timeout_s: u64,
    credentials_expire: Option<SystemTime>,
) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    // A huge --timeout means no deadline, not an overflow.
    let timeout = now
        .checked_add(Duration::from_secs(timeout_s))
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86_400));
    let Some(expire) = credentials_expire else {
        return timeout;
    };
    let usable = expire
        .duration_since(system_now())
        .unwrap_or_default()
        .saturating_sub(CREDENTIALS_RESERVE);
    timeout.min(now + usable)
}
