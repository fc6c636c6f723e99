//! Secrets this run knows (values resolved from `${VAR}` references, the verify token, the
//! registry password) and their removal from every message before it is printed: AWS's own
//! error text can quote them (Lambda's error for an oversized environment quotes every value),
//! and so can an app answering a smoke check.
use std::{fmt, sync::Mutex};

static KNOWN: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Shown in place of a secret.
pub(crate) const REDACTED: &str = "[redacted]";

/// Values shorter than this are not redacted: replacing "1" everywhere would garble output,
/// and such a value protects nothing.
const SHORTEST: usize = 4;

/// A value that must never be printed: its `Debug` shows [`REDACTED`], it has neither
/// `Display` nor `Serialize` (so a struct holding one cannot derive `Serialize` and reach
/// `--json`), and reading it takes [`Secret::expose`], at the one place it is sent.
///
/// ```compile_fail
/// fn serialised<T: serde::Serialize>(_: &T) {}
/// serialised(&xtask::secret::Secret::from("s3cret".to_owned()));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Holds `value` and remembers it for redaction from every message.
    pub fn registered(value: String) -> Self {
        register(&value);
        Self(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Without registering it: a value read back from AWS, or a literal from deploy.toml (which is
/// committed, so redacting it from messages would only garble them).
impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Remembers `value` as secret for the rest of the run, in every form a message can quote it:
/// as it is, as JSON quotes it (an app's JSON answer and Lambda's error text escape `"`, `\\`
/// and newlines: adversarial-3 m4, security-audit-3 #1), and each line of a multi-line value,
/// as it is and JSON-quoted (a PEM key or JSON credentials logged line by line, each line in
/// a JSON log record).
pub(crate) fn register(value: &str) {
    if value.len() < SHORTEST {
        return;
    }
    let lines = value.lines().filter(|line| *line != value);
    let forms: Vec<String> = std::iter::once(value)
        .chain(lines)
        .filter(|part| part.len() >= SHORTEST)
        .flat_map(|part| [part.to_owned(), json_quoted(part)])
        .collect();
    let mut known = KNOWN.lock().unwrap_or_else(|e| e.into_inner());
    for form in forms {
        if !known.contains(&form) {
            known.push(form);
        }
    }
    // Longest first, so a secret that contains another is replaced whole.
    known.sort_by_key(|k| std::cmp::Reverse(k.len()));
}

/// `text` as it stands between the quotes of a JSON string.
fn json_quoted(text: &str) -> String {
    // A string always serializes, between two quotes.
    let quoted = serde_json::to_string(text).unwrap_or_default();
    quoted[1..quoted.len() - 1].to_owned()
}

/// Forgets every secret: the simulation runs thousands of pipelines in one process, each with
/// fresh tokens that would otherwise pile up.
pub fn forget_all() {
    KNOWN.lock().unwrap_or_else(|e| e.into_inner()).clear();
}

/// Name and value pairs as a Debug print may show them: the value of the one named `secret`
/// as [`REDACTED`], whether or not it was registered (a stage read back from AWS holds a token
/// no run of this process made).
pub(crate) fn hiding<'a>(
    pairs: impl IntoIterator<Item = (&'a String, &'a String)>,
    secret: &str,
) -> Vec<(&'a str, &'a str)> {
    pairs
        .into_iter()
        .map(|(name, value)| match name == secret {
            true => (name.as_str(), REDACTED),
            false => (name.as_str(), value.as_str()),
        })
        .collect()
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
    fn a_secret_debugs_as_redacted_and_is_read_only_through_expose() {
        let secret = Secret::from("planted-5e1f".to_owned());
        assert_eq!(format!("{secret:?}"), REDACTED);
        assert_eq!(format!("{:?}", Some(&secret)), format!("Some({REDACTED})"));
        assert_eq!(secret.expose(), "planted-5e1f");
    }

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

    #[test]
    fn each_line_of_a_multi_line_secret_is_redacted_too() {
        register("-----BEGIN KEY-----\nMIIEpAIBAAKCAQEA7v\n-----END KEY-----");
        let shown =
            redact("line 2 of the key: MIIEpAIBAAKCAQEA7v, escaped: -----BEGIN KEY-----\\nMIIE");
        assert!(!shown.contains("MIIEpAIBAAKCAQEA7v"), "{shown}");
    }

    /// JSON credentials logged line by line: each line reaches the function's log tail
    /// inside a JSON record, its quotes escaped (security-audit-3 #1: only the raw lines and
    /// the whole value escaped were known).
    #[test]
    fn each_line_of_a_multi_line_secret_is_redacted_json_quoted_too() {
        register("{\n  \"private_key\": \"MIIEvQIBADANBgkq\"\n}");
        let record =
            r#"{"level":"INFO","fields":{"message":"  \"private_key\": \"MIIEvQIBADANBgkq\""}}"#;
        let shown = redact(record);
        assert!(!shown.contains("MIIEvQIBADANBgkq"), "{shown}");
    }

    /// Lambda's refusal of an environment over 4 KB, as the one rule writes it: the variables
    /// as JSON, each value escaped, at the limit's boundary (security-audit-3 #1).
    #[test]
    fn lambdas_environment_error_at_the_boundary_shows_no_secret() {
        let key = format!("-----BEGIN KEY-----\n{}\n\"end\"", "k\"".repeat(1300));
        register(&key);
        let mut variables = std::collections::BTreeMap::from([("KEY".to_owned(), key.clone())]);
        for i in 0..25 {
            variables.insert(format!("PLAIN_{i:02}"), "p".repeat(20));
        }
        let plain: usize = variables.iter().map(|(k, v)| k.len() + v.len()).sum();
        assert!(plain < bgd_rules::ENVIRONMENT_LIMIT, "{plain}");
        let message = bgd_rules::environment_error(&variables).expect("over the limit as JSON");
        let shown = redact(&message);
        assert!(
            !shown.contains("BEGIN KEY") && !shown.contains(r#"k\""#),
            "{shown}"
        );
        assert!(shown.contains(&format!(r#""KEY":"{REDACTED}""#)), "{shown}");
    }

    #[test]
    fn a_secret_quoted_by_json_is_redacted_too() {
        register(r#"Sup3r"Secr3t\Value"#);
        let body = r#"{"message":"Sup3r\"Secr3t\\Value"}"#;
        assert_eq!(redact(body), format!(r#"{{"message":"{REDACTED}"}}"#));
    }
}
