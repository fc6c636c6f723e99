//! The house: the crate graph ARCHITECTURE.md draws is the one Cargo builds, the AWS SDK sits
//! only under `bgd-aws`, and no crate's modules form a cycle.
use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
    process::Command,
};

use bgd_core::setup;
use serde_json::Value;

use super::rust_files;

/// `cargo metadata` of the workspace, with the resolved graph.
pub(super) fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(setup::workspace_root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Each workspace member: its name, its folder (relative to the root) and the members it uses
/// as normal dependencies.
pub(super) fn members(metadata: &Value) -> Vec<(String, String, BTreeSet<String>)> {
    let root = setup::workspace_root();
    let members: BTreeSet<&str> = metadata["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap())
        .collect();
    let packages = metadata["packages"].as_array().unwrap();
    let names: BTreeSet<&str> = packages
        .iter()
        .filter(|p| members.contains(p["id"].as_str().unwrap()))
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    packages
        .iter()
        .filter(|p| members.contains(p["id"].as_str().unwrap()))
        .map(|p| {
            let manifest = Path::new(p["manifest_path"].as_str().unwrap());
            let folder = manifest.parent().unwrap().strip_prefix(root).unwrap();
            let uses = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null())
                .map(|d| d["name"].as_str().unwrap())
                .filter(|d| names.contains(d))
                .map(str::to_owned)
                .collect();
            let name = p["name"].as_str().unwrap().to_owned();
            (name, folder.display().to_string(), uses)
        })
        .collect()
}

/// ARCHITECTURE.md's entry for `folder`: from its heading to the next.
fn entry<'a>(map: &'a str, folder: &str) -> Option<&'a str> {
    let start = map.find(&format!("### `{folder}/`"))?;
    let rest = &map[start + 4..];
    Some(&rest[..rest.find("\n### ").unwrap_or(rest.len())])
}

#[test]
fn each_crate_uses_exactly_the_crates_architecture_md_says() {
    let map = std::fs::read_to_string(setup::workspace_root().join("ARCHITECTURE.md")).unwrap();
    for (name, folder, uses) in members(&metadata()) {
        let entry = entry(&map, &folder).unwrap_or_else(|| {
            panic!("ARCHITECTURE.md has no entry \"### `{folder}/`\" for {name}: add one")
        });
        let line = entry
            .lines()
            .find_map(|l| l.strip_prefix("Uses: "))
            .unwrap_or_else(|| panic!("ARCHITECTURE.md's entry for {folder}/ has no `Uses:` line"));
        let said: BTreeSet<String> = line
            .trim_end_matches('.')
            .split(", ")
            .filter(|c| *c != "nothing of the workspace")
            .map(|c| c.trim_matches('`').to_owned())
            .collect();
        assert_eq!(
            said, uses,
            "{name} ({folder}/): ARCHITECTURE.md says it uses {said:?}, Cargo.toml says {uses:?}: make them agree"
        );
    }
}

/// Every package `of` depends on, directly or not, through normal dependencies.
fn reaches(metadata: &Value, of: &str) -> BTreeSet<String> {
    let nodes: BTreeMap<&str, &Value> = metadata["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    let name_of = |id: &str| {
        metadata["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let start = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == of && p["source"].is_null())
        .map(|p| p["id"].as_str().unwrap())
        .unwrap();
    let (mut seen, mut todo) = (BTreeSet::new(), vec![start]);
    while let Some(id) = todo.pop() {
        for dep in nodes[id]["deps"].as_array().unwrap() {
            let normal = dep["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kind"].is_null());
            let dep_id = dep["pkg"].as_str().unwrap();
            if normal && seen.insert(dep_id) {
                todo.push(dep_id);
            }
        }
    }
    seen.into_iter().map(name_of).collect()
}

/// The SDK is a Cargo fact: the domain, the rules, the simulation and the local cloud build
/// without it (and the pipeline's tests with them).
#[test]
fn only_bgd_aws_and_what_uses_it_reach_the_aws_sdk() {
    let metadata = metadata();
    for (name, _, uses) in members(&metadata) {
        let sdk: Vec<String> = reaches(&metadata, &name)
            .into_iter()
            .filter(|p| p.starts_with("aws-sdk-"))
            .collect();
        let may = name == "bgd-aws" || uses.contains("bgd-aws");
        assert!(
            may || sdk.is_empty(),
            "{name} reaches {sdk:?}: only bgd-aws may use the AWS SDK; put the call behind a trait in bgd-core and implement it there"
        );
    }
}

#[test]
fn only_the_simulation_asks_for_tokios_paused_clock() {
    let metadata = metadata();
    let members: BTreeSet<&str> = metadata["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap())
        .collect();
    for package in metadata["packages"].as_array().unwrap() {
        if !members.contains(package["id"].as_str().unwrap()) {
            continue;
        }
        let paused = package["dependencies"].as_array().unwrap().iter().any(|d| {
            d["name"] == "tokio"
                && d["kind"].is_null()
                && d["features"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f == "test-util")
        });
        let name = package["name"].as_str().unwrap();
        assert!(
            !paused || name == "bgd-sim",
            "{name} turns on tokio's test-util: only bgd-sim runs on the paused clock"
        );
    }
}

/// `source` without its `#[cfg(test)] mod NAME { ... }` blocks.
fn without_test_modules(source: &str) -> String {
    let mut out = String::new();
    let mut rest = source;
    while let Some(at) = rest.find("#[cfg(test)]\nmod ") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        let Some(open) = after.find(['{', ';']) else {
            break;
        };
        if after.as_bytes()[open] == b';' {
            rest = &after[open + 1..];
            continue;
        }
        let mut depth = 0;
        let mut end = after.len();
        for (i, c) in after[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// The first names of the paths `source` names from its crate's root: `crate::NAME` and each
/// top-level name of `crate::{...}`.
fn crate_paths(source: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (at, _) in source.match_indices("crate::") {
        let before = source[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let after = &source[at + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let (mut depth, mut item) = (0, String::new());
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        names.insert(std::mem::take(&mut item));
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            names.insert(item);
        } else {
            names.insert(
                after
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect(),
            );
        }
    }
    names
        .into_iter()
        .map(|n| {
            n.trim()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

/// A cycle among `graph`'s nodes, as the path around it.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut found = path[at..].to_vec();
            found.push(node.to_owned());
            return Some(found);
        }
        if !done.insert(node.to_owned()) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

/// Inside a crate too, the modules are layers: each top-level module names others only in one
/// direction (tests aside), so any of them can be read, and moved out, without the rest.
#[test]
fn no_crate_has_a_cycle_among_its_modules() {
    let root = setup::workspace_root();
    for (name, folder, _) in members(&metadata()) {
        let src = root.join(&folder).join("src");
        let modules: BTreeSet<String> = std::fs::read_dir(&src)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter_map(|p| Some(p.file_stem()?.to_string_lossy().into_owned()))
            .filter(|m| !["lib", "main", "bin"].contains(&m.as_str()))
            .collect();
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for module in &modules {
            let mut files = Vec::new();
            let file = src.join(format!("{module}.rs"));
            if file.exists() {
                files.push(file);
            }
            if src.join(module).is_dir() {
                rust_files(&src.join(module), &mut files);
            }
            for file in files {
                let stem = file.file_stem().unwrap().to_string_lossy();
                if stem == "tests" || stem.ends_with("_tests") {
                    continue;
                }
                let source = without_test_modules(&std::fs::read_to_string(&file).unwrap());
                let uses = crate_paths(&source)
                    .into_iter()
                    .filter(|n| n != module && modules.contains(n));
                graph.entry(module.clone()).or_default().extend(uses);
            }
        }
        if let Some(found) = cycle(&graph) {
            panic!(
                "{name}'s modules form a cycle: {}; move what one of them takes from the next into a module both can use",
                found.join(" -> ")
            );
        }
    }
}

/// A test of the test: a cycle is found, and a layered graph passes.
#[test]
fn the_cycle_check_finds_a_cycle() {
    let graph = |edges: &[(&str, &str)]| {
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to) in edges {
            graph
                .entry((*from).into())
                .or_default()
                .insert((*to).into());
        }
        graph
    };
    let layered = graph(&[
        ("pipeline", "ledger"),
        ("ledger", "facts"),
        ("image", "facts"),
    ]);
    assert_eq!(cycle(&layered), None);
    let tangled = graph(&[("progress", "pipeline"), ("pipeline", "progress")]);
    assert!(cycle(&tangled).is_some());
    let source = "use crate::{phase::Phase, secret};\nlet x = $sdk_crate::config::X; crate::ledger::short(s);";
    let named = crate_paths(source);
    assert_eq!(
        named,
        BTreeSet::from(["phase".into(), "secret".into(), "ledger".into()])
    );
}
