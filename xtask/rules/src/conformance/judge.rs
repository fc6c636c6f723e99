//! The one judge of an answer against its recording: status, error code, and fields by JSON
//! pointer, matched by value, absence or a saved value (the format: `super`).
use std::collections::BTreeMap;

use serde_json::Value;

use super::{Answer, Expect};

/// The answer against the recording; `Err` says what differs.
pub fn judge(
    expect: &Expect,
    answer: &Answer,
    saved: &mut BTreeMap<String, String>,
) -> Result<(), String> {
    let shown = || {
        let body = answer.body.to_string();
        let body: String = body.chars().take(300).collect();
        format!(
            "{} {} {body}",
            answer.status,
            answer.error.as_deref().unwrap_or("")
        )
    };
    if answer.status != expect.status {
        return Err(format!(
            "status {} (want {}): {}",
            answer.status,
            expect.status,
            shown()
        ));
    }
    if let (Some(want), Some(got)) = (&expect.error, &answer.error)
        && want != got
    {
        return Err(format!("error {got} (want {want})"));
    }
    for (pointer, want) in &expect.body {
        let got = field(&answer.body, pointer);
        matches(got.as_ref(), want, saved)
            .map_err(|why| format!("{pointer}: {why} in {}", shown()))?;
    }
    Ok(())
}

fn matches(
    got: Option<&Value>,
    want: &Value,
    saved: &mut BTreeMap<String, String>,
) -> Result<(), String> {
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    let matcher = want
        .as_str()
        .and_then(|s| s.strip_prefix('<')?.strip_suffix('>'));
    match (matcher.and_then(|m| m.split_once(':')), matcher, got) {
        (_, _, None) if want.is_null() => Ok(()),
        (_, _, Some(got)) if want.is_null() => Err(format!("{got} present (want absent)")),
        (_, _, None) => Err(format!("absent (want {want})")),
        (_, Some("any"), Some(_)) => Ok(()),
        (Some(("save", name)), _, Some(got)) => {
            saved.insert(name.to_owned(), text(got));
            Ok(())
        }
        (Some(("same", name)), _, Some(got)) if saved.get(name) == Some(&text(got)) => Ok(()),
        (Some(("same", name)), _, Some(got)) => {
            Err(format!("{got} (want {name}: {:?})", saved.get(name)))
        }
        (Some(("new", name)), _, Some(got)) if saved.get(name) != Some(&text(got)) => Ok(()),
        (Some(("new", name)), _, Some(got)) => {
            Err(format!("{got} unchanged (want other than {name})"))
        }
        (_, _, Some(got))
            if got == want || got.as_f64().is_some_and(|g| Some(g) == want.as_f64()) =>
        {
            Ok(())
        }
        (_, _, Some(got)) => Err(format!("{got} (want {want})")),
    }
}

/// The value at `pointer`: `/A/B`, `[Key=Value]` picking the array element whose `Key` is
/// `Value`, and a string holding JSON descended into.
pub(super) fn field(body: &Value, pointer: &str) -> Option<Value> {
    let mut at = body.clone();
    for segment in pointer.split('/').filter(|s| !s.is_empty()) {
        if let Value::String(s) = &at
            && let Ok(parsed) = serde_json::from_str::<Value>(s)
        {
            at = parsed;
        }
        let (key, pick) = match segment.split_once('[') {
            Some((key, pick)) => (key, pick.strip_suffix(']')?.split_once('=')),
            None => (segment, None),
        };
        at = match &at {
            Value::Array(items) => items.get(key.parse::<usize>().ok()?)?.clone(),
            other => other.get(key)?.clone(),
        };
        if let Some((k, v)) = pick {
            at = at
                .as_array()?
                .iter()
                .find(|item| item.get(k).and_then(Value::as_str) == Some(v))?
                .clone();
        }
    }
    (!at.is_null()).then_some(at)
}
