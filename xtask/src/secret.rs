//! Secrets this run knows (values resolved from `${VAR}` references, the verify token, the
//! registry password) and their removal from every message before it is printed: AWS's own
//! error text can quote them (Lambda's error for an oversized environment quotes every value),
//! and so can an app answering a smoke check.
use std::sync::Mutex;

static KNOWN: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Shown in place of a secret.
pub const REDACTED: &str = "[redacted]";

/// Values shorter than this are not redacted: replacing "1" everywhere would garble output,
/// and such a value protects nothing.
const SHORTEST: usize = 4;

/// Remembers `value` as secret for the rest of the run.
pub fn register(value: &str) {
    if value.len() >= SHORTEST {
        let mut known = KNOWN.lock().unwrap_or_else(|e| e.into_inner());
        if !known.iter().any(|k| k == value) {
            known.push(value.to_owned());
            // Longest first, so a secret that contains another is replaced whole.
            known.sort_by_key(|k| std::cmp::Reverse(k.len()));
        }
    }
}

/// Forgets every secret: the simulation runs thousands of pipelines in one process, each with
/// fresh tokens that would otherwise pile up.
pub fn forget_all() {
    KNOWN.lock().unwrap_or_else(|e| e.into_inner()).clear();
}

/// `text` with every known secret replaced by [`REDACTED`].
pub fn redact(text: &str) -> String {
    let known = KNOWN.lock().unwrap_or_else(|e| e.into_inner());
    known.iter().fold(text.to_owned(), |text, secret| {
        text.replace(secret.as_str(), REDACTED)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_secrets_never_survive_redaction_and_short_values_are_left() {
        register("s3cret-value-9");
        register("s3cret");
        register("ab");
        let text = "Lambda says: Variables {API_KEY: s3cret-value-9, B: s3cret, C: ab}";
        let shown = redact(text);
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("C: ab"), "{shown}");
        assert_eq!(shown.matches(REDACTED).count(), 2, "{shown}");
    }
}
