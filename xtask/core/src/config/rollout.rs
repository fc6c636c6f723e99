//! deploy.toml's `[rollout]`: how green shifts to a verified version (all at once, a canary
//! step, or linear steps), how long it is then watched (the bake), and what counts as trouble.
use std::{fmt, str::FromStr, time::Duration};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Deserializer};

/// `[rollout]`; every key has a default, so deploy.toml needs none of it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rollout {
    #[serde(default)]
    pub strategy: Strategy,
    /// Green watched on the new version alone before the run ends (`2m`); 0 skips it.
    #[serde(default, deserialize_with = "duration")]
    pub bake: Duration,
    /// The share of the new version's invocations that may fail (0.0 to 1.0).
    #[serde(default = "default_error_rate")]
    pub error_rate: f64,
    /// Below this many requests to the new version (per signal), its error rate is not judged:
    /// one failure of three requests is noise.
    #[serde(default = "default_min_requests")]
    pub min_requests: u64,
    /// CloudWatch alarms (names) watched with the traffic: any in ALARM rolls back, as with
    /// CodeDeploy. They must exist in the project's region.
    #[serde(default)]
    pub alarms: Vec<String>,
}

impl Default for Rollout {
    fn default() -> Self {
        Self {
            strategy: Strategy::AllAtOnce,
            bake: Duration::ZERO,
            error_rate: default_error_rate(),
            min_requests: default_min_requests(),
            alarms: Vec::new(),
        }
    }
}

fn default_error_rate() -> f64 {
    0.05
}
const MAX_ALARMS: usize = 100;

fn default_min_requests() -> u64 {
    20
}

impl Rollout {
    pub(super) fn check(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.error_rate) {
            bail!(
                "[rollout] error_rate = {}: a share from 0.0 to 1.0",
                self.error_rate
            );
        }
        // DescribeAlarms takes at most 100 names; CloudWatch's names are 1 to 255 characters.
        if self.alarms.len() > MAX_ALARMS {
            bail!("[rollout] alarms: at most {MAX_ALARMS} names");
        }
        if let Some(name) = self.alarms.iter().find(|n| n.is_empty() || n.len() > 255) {
            bail!("[rollout] alarms: {name:?} is not an alarm name (1 to 255 characters)");
        }
        Ok(())
    }
}

/// How green moves from the old version to the new one. Each step is one guarded write of
/// green's routing configuration (the new version's weight; the old version keeps the rest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    #[default]
    AllAtOnce,
    /// `percent` of traffic for `interval`, then all of it.
    Canary { percent: u8, interval: Duration },
    /// `percent` more every `interval` until all of it.
    Linear { percent: u8, interval: Duration },
}

impl Strategy {
    /// The new version's weights before it takes all traffic, each held for its duration.
    pub fn steps(&self) -> Vec<(f64, Duration)> {
        match *self {
            Self::AllAtOnce => Vec::new(),
            Self::Canary { percent, interval } => vec![(f64::from(percent) / 100.0, interval)],
            Self::Linear { percent, interval } => (1..)
                .map(|i| u32::from(percent) * i)
                .take_while(|&p| p < 100)
                .map(|p| (f64::from(p) / 100.0, interval))
                .collect(),
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AllAtOnce => f.write_str("all-at-once"),
            Self::Canary { percent, interval } => {
                write!(f, "canary:{percent}:{}", show(*interval))
            }
            Self::Linear { percent, interval } => {
                write!(f, "linear:{percent}:{}", show(*interval))
            }
        }
    }
}

/// `30s`, `5m`, `1h` for a whole number of that unit; seconds otherwise.
pub fn show(duration: Duration) -> String {
    match duration.as_secs() {
        s if s >= 3600 && s % 3600 == 0 => format!("{}h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

const STRATEGY_HELP: &str = "use all-at-once, canary:PCT:DURATION, linear:PCT:DURATION (like canary:10:5m) or a CodeDeploy name (like Canary10Percent5Minutes, LambdaLinear10PercentEvery1Minute)";

impl FromStr for Strategy {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Self> {
        let parsed = if text.contains(':') {
            ours(text)
        } else {
            codedeploy(text)
        };
        parsed.with_context(|| format!("strategy {text:?}: {STRATEGY_HELP}"))
    }
}

/// `all-at-once`, `canary:PCT:DURATION`, `linear:PCT:DURATION`.
fn ours(text: &str) -> Result<Strategy> {
    let mut parts = text.split(':');
    let (kind, percent, interval) = (parts.next(), parts.next(), parts.next());
    let (Some(kind), Some(percent), Some(interval), None) = (kind, percent, interval, parts.next())
    else {
        bail!("expected three parts separated by ':'");
    };
    let percent = percent_of(percent)?;
    let interval = step(parse_duration(interval)?)?;
    match kind {
        "canary" => Ok(Strategy::Canary { percent, interval }),
        "linear" => Ok(Strategy::Linear { percent, interval }),
        other => bail!("{other:?} is not canary or linear"),
    }
}

/// CodeDeploy's predefined Lambda configurations and SAM's short names for them
/// (<https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html>):
/// `[CodeDeployDefault.][Lambda]Canary10Percent5Minutes`, `...Linear10PercentEvery1Minute`,
/// `...AllAtOnce`.
fn codedeploy(text: &str) -> Result<Strategy> {
    if text == "all-at-once" {
        return Ok(Strategy::AllAtOnce);
    }
    let name = text.strip_prefix("CodeDeployDefault.").unwrap_or(text);
    let name = name.strip_prefix("Lambda").unwrap_or(name);
    if name == "AllAtOnce" {
        return Ok(Strategy::AllAtOnce);
    }
    let (linear, rest) = match (name.strip_prefix("Canary"), name.strip_prefix("Linear")) {
        (Some(rest), _) => (false, rest),
        (_, Some(rest)) => (true, rest),
        _ => bail!("not a strategy name"),
    };
    let (percent, rest) = rest.split_once("Percent").context("no Percent")?;
    let percent = percent_of(percent)?;
    let rest = if linear {
        rest.strip_prefix("Every").context("no Every")?
    } else {
        rest
    };
    let minutes = rest
        .strip_suffix("Minutes")
        .or_else(|| rest.strip_suffix("Minute"))
        .context("no Minutes")?;
    let minutes: u64 = minutes.parse().context("minutes must be a whole number")?;
    let interval = step(within_longest(text, minutes.checked_mul(60))?)?;
    Ok(if linear {
        Strategy::Linear { percent, interval }
    } else {
        Strategy::Canary { percent, interval }
    })
}

fn percent_of(text: &str) -> Result<u8> {
    match text.parse::<u8>() {
        Ok(p) if (1..=99).contains(&p) => Ok(p),
        _ => bail!("percent {text:?} must be a whole number from 1 to 99"),
    }
}

/// `30s`, `5m`, `2h` (a whole number and a unit).
pub fn parse_duration(text: &str) -> Result<Duration> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .with_context(|| format!("duration {text:?}: a whole number and s, m or h, like 30s"))?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => bail!("duration {text:?}: give a unit, s, m or h, like 30s or 5m"),
    };
    within_longest(text, number.checked_mul(scale))
}

/// The longest step or bake bgd runs: a day (CodeDeploy's longest predefined step is 30
/// minutes). A longer one is a typo, and a huge one overflowed the clock: `bake =
/// "99999999999999999h"` panicked every verb (adversarial-3 m1).
const LONGEST: Duration = Duration::from_secs(24 * 3600);

/// `seconds` (`None`: it overflowed) as a duration no longer than [`LONGEST`].
fn within_longest(text: &str, seconds: Option<u64>) -> Result<Duration> {
    match seconds.map(Duration::from_secs) {
        Some(duration) if duration <= LONGEST => Ok(duration),
        _ => bail!(
            "duration {text:?} is longer than {}, the longest step or bake",
            show(LONGEST)
        ),
    }
}

/// A step's duration: a step of 0 s watches nothing before the next shift.
fn step(interval: Duration) -> Result<Duration> {
    if interval.is_zero() {
        bail!("a step of 0s watches nothing: give each step a duration, like 30s");
    }
    Ok(interval)
}

impl<'de> Deserialize<'de> for Strategy {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse()
            .map_err(|e| serde::de::Error::custom(format!("{e:#}")))
    }
}

fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_duration(&text).map_err(|e| serde::de::Error::custom(format!("{e:#}")))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Strategy, parse_duration};

    fn minutes(m: u64) -> Duration {
        Duration::from_secs(m * 60)
    }

    #[test]
    fn our_names_and_codedeploys_parse_to_the_same_strategies() {
        let canary = Strategy::Canary {
            percent: 10,
            interval: minutes(5),
        };
        let linear = Strategy::Linear {
            percent: 10,
            interval: minutes(1),
        };
        for (text, want) in [
            ("canary:10:5m", canary),
            ("Canary10Percent5Minutes", canary),
            ("LambdaCanary10Percent5Minutes", canary),
            ("CodeDeployDefault.LambdaCanary10Percent5Minutes", canary),
            ("linear:10:60s", linear),
            ("Linear10PercentEvery1Minute", linear),
            (
                "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
                linear,
            ),
            ("all-at-once", Strategy::AllAtOnce),
            ("CodeDeployDefault.LambdaAllAtOnce", Strategy::AllAtOnce),
        ] {
            assert_eq!(text.parse::<Strategy>().unwrap(), want, "{text}");
        }
        assert_eq!(canary.to_string(), "canary:10:5m");
        assert_eq!(
            "linear:25:30s".parse::<Strategy>().unwrap().to_string(),
            "linear:25:30s"
        );
    }

    #[test]
    fn a_bad_strategy_says_what_is_accepted() {
        for text in [
            "canary:0:5m",
            "canary:100:5m",
            "canary:10",
            "canary:10:5",
            "blue:10:5m",
            "Canary10Percent",
            "Sometimes",
        ] {
            let err = format!("{:#}", text.parse::<Strategy>().unwrap_err());
            assert!(
                err.contains(text) && err.contains("canary:PCT:DURATION"),
                "{err}"
            );
        }
    }

    #[test]
    fn steps_hold_each_weight_for_its_interval_and_stop_before_all() {
        let linear: Strategy = "linear:30:1m".parse().unwrap();
        let weights: Vec<f64> = linear.steps().iter().map(|(w, _)| *w).collect();
        assert_eq!(weights, [0.3, 0.6, 0.9]);
        let canary: Strategy = "canary:10:30s".parse().unwrap();
        assert_eq!(canary.steps(), [(0.1, Duration::from_secs(30))]);
        assert!(Strategy::AllAtOnce.steps().is_empty());
    }

    #[test]
    fn durations_need_a_unit() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("1.5m").is_err());
    }

    /// adversarial-3 m1: these panicked (an overflow at parse, or adding to the clock) in
    /// every verb that read deploy.toml.
    #[test]
    fn durations_past_a_day_and_steps_of_nothing_are_refused_not_overflowed() {
        assert_eq!(parse_duration("24h").unwrap(), Duration::from_secs(86_400));
        for huge in [
            "25h",
            "99999999999999999h",
            "3000000000000000h",
            "18446744073709551615s",
        ] {
            let err = parse_duration(huge).unwrap_err().to_string();
            assert!(err.contains("longer than 24h"), "{huge}: {err}");
        }
        for text in [
            "Canary10Percent999999999999999999Minutes",
            "canary:10:0s",
            "LambdaLinear10PercentEvery0Minutes",
        ] {
            assert!(text.parse::<Strategy>().is_err(), "{text}");
        }
    }
}
