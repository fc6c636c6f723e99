//! Wall-clock time as Lambda and the ledger write it.
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(epoch: u64) -> String {
    i64::try_from(epoch)
        .ok()
        .and_then(|seconds| OffsetDateTime::from_unix_timestamp(seconds).ok())
        .and_then(|at| at.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("@{epoch}"))
}

/// [`rfc3339`] read back: seconds since the epoch; `None` for anything else.
pub fn epoch_of(rfc3339: &str) -> Option<u64> {
    let at = OffsetDateTime::parse(rfc3339, &Rfc3339).ok()?;
    u64::try_from(at.unix_timestamp()).ok()
}
