//! `[environments.NAME]`: the accounts and regions one commit ships to (staging, production).
//! An environment in one of its regions is an ordinary [`Config`]: deploy.toml with the
//! environment's values layered over the shared ones and its region as `[project] region`, so
//! every verb runs on it unchanged. What an environment cannot change is what the image bakes
//! in (`[app]`): the image staging verified is the image production runs.
use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use super::Config;

/// One environment as deploy.toml writes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// The AWS account it lives in: a run whose credentials are for another account stops.
    pub account: String,
    /// Its regions, deployed in this order (default: `[project] region`).
    #[serde(default)]
    pub regions: Vec<String>,
    /// How to reach it: a profile of the AWS config, or a role to assume (from the deploying
    /// credentials), or neither (the default credential chain).
    pub profile: Option<String>,
    pub role_arn: Option<String>,
    /// The stack's name there (default: `[project] name`), for two environments in one account.
    pub name: Option<String>,
    /// Layered over `[function]`: `environment` by name, the other keys replace.
    #[serde(default)]
    function: toml::Table,
    /// Layered over `[rollout]`, key by key.
    #[serde(default)]
    rollout: toml::Table,
    /// Run after the shared `[[smoke]]` checks.
    #[serde(default)]
    smoke: Vec<toml::Value>,
}

/// Where a config layered for an environment deploys, and how it is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub environment: String,
    pub account: String,
    pub region: String,
    pub profile: Option<String>,
    pub role_arn: Option<String>,
}

impl Config {
    /// The environment `name`, or an error listing those deploy.toml defines.
    pub fn environment(&self, name: &str) -> Result<&Environment> {
        self.environments.get(name).with_context(|| {
            let known: Vec<&str> = self.environments.keys().map(String::as_str).collect();
            if known.is_empty() {
                format!("--env {name}: deploy.toml defines no [environments] (see the README's \"Staging and production\")")
            } else {
                format!(
                    "--env {name}: deploy.toml defines no such environment (it has {})",
                    known.join(", ")
                )
            }
        })
    }

    /// The regions of environment `name`, in deploy order.
    pub fn regions_of(&self, name: &str) -> Result<Vec<String>> {
        let environment = self.environment(name)?;
        Ok(if environment.regions.is_empty() {
            vec![self.project.region.clone()]
        } else {
            environment.regions.clone()
        })
    }

    /// deploy.toml as environment `name` sees it in `region`: an ordinary config, checked as
    /// one, with its placement.
    pub fn in_environment(&self, name: &str, region: &str) -> Result<Config> {
        let environment = self.environment(name)?;
        let mut table = self.raw.clone();
        table.remove("environments");
        let project = section(&mut table, "project");
        project.insert("region".into(), region.into());
        if let Some(stack) = &environment.name {
            project.insert("name".into(), stack.as_str().into());
        }
        let function = section(&mut table, "function");
        for (key, value) in &environment.function {
            match (key.as_str(), value) {
                ("environment", toml::Value::Table(values)) => section(function, "environment")
                    .extend(values.iter().map(|(k, v)| (k.clone(), v.clone()))),
                _ => {
                    function.insert(key.clone(), value.clone());
                }
            }
        }
        let rollout = section(&mut table, "rollout");
        rollout.extend(environment.rollout.clone());
        if !environment.smoke.is_empty() {
            let smoke = table
                .entry("smoke")
                .or_insert_with(|| toml::Value::Array(Vec::new()));
            if let toml::Value::Array(checks) = smoke {
                checks.extend(environment.smoke.iter().cloned());
            }
        }
        let text = toml::to_string(&table)?;
        let mut config =
            Config::parse(&text).with_context(|| format!("[environments.{name}] in {region}"))?;
        config.placement = Some(Placement {
            environment: name.to_owned(),
            account: environment.account.clone(),
            region: region.to_owned(),
            profile: environment.profile.clone(),
            role_arn: environment.role_arn.clone(),
        });
        Ok(config)
    }

    /// Each environment's own keys, then each of its regions layered: a mistake is named when
    /// deploy.toml is read, not when a deploy reaches that region.
    pub(super) fn check_environments(&self) -> Result<()> {
        let mut stacks: BTreeMap<(String, String, String), &str> = BTreeMap::new();
        for (name, environment) in &self.environments {
            let valid_name = !name.is_empty()
                && name.len() <= 32
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !valid_name {
                bail!(
                    "[environments.{name}]: name environments with 1-32 lowercase letters, digits and '-'"
                );
            }
            environment
                .check()
                .with_context(|| format!("[environments.{name}]"))?;
            for region in self.regions_of(name)? {
                let layered = self.in_environment(name, &region)?;
                let key = (
                    environment.account.clone(),
                    region.clone(),
                    layered.project.name.clone(),
                );
                if let Some(other) = stacks.insert(key, name) {
                    bail!(
                        "[environments.{other}] and [environments.{name}] are both stack {:?} in account {} {region}: they would deploy over each other; give one its own `name`",
                        layered.project.name,
                        environment.account
                    );
                }
            }
        }
        Ok(())
    }
}

impl Environment {
    fn check(&self) -> Result<()> {
        if self.account.len() != 12 || !self.account.bytes().all(|b| b.is_ascii_digit()) {
            bail!(
                "account = {:?}: an AWS account id is 12 digits",
                self.account
            );
        }
        if self.profile.is_some() && self.role_arn.is_some() {
            bail!(
                "profile and role_arn both set: name one way to reach the account (a profile may itself assume a role)"
            );
        }
        if let Some(role) = &self.role_arn {
            let prefix = format!("arn:aws:iam::{}:role/", self.account);
            if !role.starts_with(&prefix) || role.len() == prefix.len() {
                bail!("role_arn = {role:?}: a role of the environment's account ({prefix}NAME)");
            }
        }
        let mut seen = Vec::new();
        for region in &self.regions {
            if seen.contains(&region) {
                bail!("regions lists {region} twice");
            }
            seen.push(region);
        }
        Ok(())
    }
}

/// `table[key]` as a table, created when missing (deploy.toml's own parse checked that every
/// section present is one).
fn section<'t>(table: &'t mut toml::Table, key: &str) -> &'t mut toml::Table {
    table
        .entry(key)
        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        .as_table_mut()
        .expect("a section of a parsed deploy.toml")
}
