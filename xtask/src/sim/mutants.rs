//! `cargo xtask sim --mutants`: the oracle proven by planted bugs. Each mutant is one edit of
//! the pipeline that brings back a bug the simulation (or a review) found. All are planted at
//! once in a copy of the workspace (target/mutants/workspace), each behind a switch read at run
//! time (`BGD_MUTANT`), so one build of `bgd-sim`'s tests serves them all; the copy shares the
//! workspace's target directory, so only its own crates compile. Each mutant's batch is a
//! process of its own, all at once (the machine's cores share them), and stops at its first
//! violation: the runs that took are printed. A situation too narrow for the batch to meet by
//! chance is scripted in a named scenario (`bgd-sim`'s `scenarios`), run when the batch
//! missed. A mutant neither catches fails the command.
use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Instant,
};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use bgd_core::setup;

/// One planted bug: in `file`, within `at` (found exactly once), `from` becomes `to` while
/// the mutant's switch is on.
struct Mutant {
    name: &'static str,
    file: &'static str,
    at: &'static str,
    from: &'static str,
    to: &'static str,
    splice: Splice,
}

/// What `from` and `to` are, and so how the switch between them is spelled.
enum Splice {
    Expression,
    Statements,
}

const PRUNE: &str = "xtask/core/src/pipeline/prune.rs";
const LOCK: &str = "xtask/core/src/pipeline/lock.rs";
const CLEANUP: &str = "xtask/core/src/pipeline/cleanup.rs";
const ROLLOUT: &str = "xtask/core/src/pipeline/rollout.rs";
const PROMOTE: &str = "xtask/core/src/pipeline/promote.rs";
const DEPLOY: &str = "xtask/core/src/pipeline/deploy.rs";

const MUTANTS: &[Mutant] = &[
    Mutant {
        name: "prune ignores --keep",
        file: PRUNE,
        at: "        options.keep,\n        &mut kept,",
        from: "options.keep",
        to: "0",
        splice: Splice::Expression,
    },
    Mutant {
        name: "a run releases a lock without checking it is its own",
        file: CLEANUP,
        at: "if blue.variables.get(TOKEN_VARIABLE).map(String::as_str) != Some(token) {",
        from: "blue.variables.get(TOKEN_VARIABLE).map(String::as_str) != Some(token)",
        to: "blue.variables.get(TOKEN_VARIABLE).is_none()",
        splice: Splice::Expression,
    },
    Mutant {
        name: "a takeover does not confirm the new lock is its own",
        file: LOCK,
        at: "        if taken.as_deref() != Some(token.expose()) {\n            return Err(lost());\n        }\n",
        from: "if taken.as_deref() != Some(token.expose()) {\n            return Err(lost());\n        }",
        to: "",
        splice: Splice::Statements,
    },
    Mutant {
        name: "a deploy promotes without checking it still holds the lock",
        file: PROMOTE,
        at: "        self.still_holds(api, token.expose()).await?;\n        if !plan.watches() {",
        from: "self.still_holds(api, token.expose()).await?;",
        to: "",
        splice: Splice::Statements,
    },
    Mutant {
        name: "a rollout writes green without checking its lock",
        file: ROLLOUT,
        at: "        let Some((api, token)) = lock else {",
        from: "lock",
        to: "lock.filter(|_| false)",
        splice: Splice::Expression,
    },
    Mutant {
        name: "the hold is written into the lock when it is taken",
        file: LOCK,
        at: "let taken = LockOptions { hold: None, ..lock };",
        from: "LockOptions { hold: None, ..lock }",
        to: "lock",
        splice: Splice::Expression,
    },
    Mutant {
        name: "green is written without the RevisionId guard",
        file: PROMOTE,
        at: "                current.revision_id.as_deref(),",
        from: "current.revision_id.as_deref()",
        to: "None",
        splice: Splice::Expression,
    },
    Mutant {
        name: "a dry run removes a lock left behind",
        file: DEPLOY,
        at: "    if options.dry_run {\n        return Ok(None);\n    }\n    let baking",
        from: "options.dry_run",
        to: "false",
        splice: Splice::Expression,
    },
    Mutant {
        name: "deploy --unpin drops --break-lock",
        file: DEPLOY,
        at: "super::unpin::unpin(ctx, false, options.break_lock).await?;",
        from: "options.break_lock",
        to: "false",
        splice: Splice::Expression,
    },
    Mutant {
        name: "a run settles a split it no longer holds the lock for",
        file: "xtask/core/src/pipeline/rollout/recover.rs",
        at: "        self.still_holds(api, token).await?;\n",
        from: "self.still_holds(api, token).await?;",
        to: "",
        splice: Splice::Statements,
    },
];

/// The switch the planted copy's `bgd-core` gains: which mutant this process runs.
const SWITCH: &str = "
/// Planted by `cargo xtask sim --mutants` in its copy of the workspace: whether mutant `n` is
/// the one this process runs (`BGD_MUTANT`).
pub mod mutant {
    pub fn on(n: usize) -> bool {
        static PLANTED: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
        *PLANTED.get_or_init(|| std::env::var(\"BGD_MUTANT\").ok()?.parse().ok()) == Some(n)
    }
}
";

/// Plants every mutant, builds the copy once, and runs at most `runs` seeds against each.
pub(super) fn run(runs: u64) -> Result<()> {
    let sh = Shell::new()?;
    let root = setup::workspace_root();
    let base = setup::target_dir().join("mutants");
    let copy = base.join("workspace");
    copy_workspace(&sh, root, &copy, &planted(root)?)?;
    let tests = build(&sh, &copy)?;
    let started = Instant::now();
    let batches = (0..MUTANTS.len())
        .map(|n| batch(&tests, n, runs, &base.join(n.to_string())))
        .collect::<Result<Vec<_>>>()?;
    let mut missed = Vec::new();
    for ((n, mutant), child) in MUTANTS.iter().enumerate().zip(batches) {
        let context = || format!("mutant \"{}\"", mutant.name);
        let caught = match caught_after(child).with_context(context)? {
            Some(after) => Some(format!("after {after:>5} runs")),
            None => scenarios(&tests, n)
                .with_context(context)?
                .map(|failed| format!("by scenario {failed}")),
        };
        match caught {
            Some(how) => println!("caught  {how}  {}", mutant.name),
            None => {
                println!("MISSED  in {runs} runs and the scenarios  {}", mutant.name);
                missed.push(mutant.name);
            }
        }
    }
    println!(
        "{} mutants run in {:.0} s (the copy built before)",
        MUTANTS.len(),
        started.elapsed().as_secs_f64()
    );
    if !missed.is_empty() {
        bail!(
            "{} of {} mutants not caught: {missed:?}",
            missed.len(),
            MUTANTS.len()
        );
    }
    Ok(())
}

/// The files the mutants change, each with every mutant in it behind its switch, and the
/// switch itself in `bgd-core`'s lib.rs.
fn planted(root: &Path) -> Result<BTreeMap<String, String>> {
    let mut planted = BTreeMap::new();
    for (n, mutant) in MUTANTS.iter().enumerate() {
        let text = match planted.remove(mutant.file) {
            Some(text) => text,
            None => fs::read_to_string(root.join(mutant.file))?,
        };
        let (at, from, to) = (mutant.at, mutant.from, mutant.to);
        if text.matches(at).count() != 1 || at.matches(from).count() != 1 {
            bail!(
                "mutant \"{}\": its text is not found once in {} (the code moved: update sim/mutants.rs)",
                mutant.name,
                mutant.file
            );
        }
        let switch = format!("if crate::mutant::on({n}) {{ {to} }} else {{ {from} }}");
        let spliced = match mutant.splice {
            Splice::Expression => format!("({switch})"),
            Splice::Statements => switch,
        };
        let text = text.replacen(at, &at.replacen(from, &spliced, 1), 1);
        planted.insert(mutant.file.to_owned(), text);
    }
    let lib = "xtask/core/src/lib.rs";
    let text = fs::read_to_string(root.join(lib))?;
    planted.insert(lib.to_owned(), format!("{text}{SWITCH}"));
    // Cargo names a crate's build by its name and version, not its path: at the workspace's
    // version the copy's crates would overwrite the workspace's own in the target directory
    // they share, and a later `cargo test` there ran the mutants.
    let manifest = "Cargo.toml";
    let text = fs::read_to_string(root.join(manifest))?;
    let section = "[workspace.package]\nversion = ";
    let Some((head, tail)) = text.split_once(section) else {
        bail!("{manifest} has no [workspace.package] version first: update sim/mutants.rs");
    };
    let rest = tail.split_once('\n').map_or("", |(_, rest)| rest);
    let versioned = format!("{head}{section}\"0.0.0-mutants\"\n{rest}");
    planted.insert(manifest.to_owned(), versioned);
    Ok(planted)
}

/// The tracked files of the workspace at `root` (as they are, edits too), or their `planted`
/// text, in `copy`; a file already so is left alone, so that cargo rebuilds only what changed.
fn copy_workspace(
    sh: &Shell,
    root: &Path,
    copy: &Path,
    planted: &BTreeMap<String, String>,
) -> Result<()> {
    let _dir = sh.push_dir(root);
    let files = cmd!(sh, "git ls-files").read()?;
    // A file the workspace no longer has (deleted, or moved) must not stay in the copy from an
    // earlier run: cargo would still build it (strict.rs moved into strict/ was a second test
    // target of one name, and the copy did not build).
    remove_untracked(copy, Path::new(""), &files.lines().collect())?;
    for file in files.lines() {
        let from = root.join(file);
        if !from.is_file() {
            continue;
        }
        let text = match planted.get(file) {
            Some(text) => text.clone().into_bytes(),
            None => fs::read(&from).with_context(|| format!("reading {file}"))?,
        };
        let to = copy.join(file);
        if fs::read(&to).is_ok_and(|there| there == text) {
            continue;
        }
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&to, text).with_context(|| format!("copying {file}"))?;
    }
    Ok(())
}

/// Removes every file under `copy/dir` whose path in the copy is not in `tracked`.
fn remove_untracked(copy: &Path, dir: &Path, tracked: &BTreeSet<&str>) -> Result<()> {
    let Ok(entries) = fs::read_dir(copy.join(dir)) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry?;
        let path = dir.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            remove_untracked(copy, &path, tracked)?;
        } else if !path.to_str().is_some_and(|p| tracked.contains(p)) {
            fs::remove_file(entry.path())
                .with_context(|| format!("removing {} from the copy", path.display()))?;
        }
    }
    Ok(())
}

/// Builds the copy's `bgd-sim` tests (the batch and the scenarios, every mutant planted) in
/// the workspace's target directory: the path of the test binary.
fn build(sh: &Shell, copy: &Path) -> Result<PathBuf> {
    let _dir = sh.push_dir(copy);
    let messages = cmd!(
        sh,
        "cargo test -q -p bgd-sim --lib --no-run --message-format=json"
    )
    .read()
    .context("building the planted copy's bgd-sim tests")?;
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .context("cargo named no test binary of the planted copy's bgd-sim")
}

/// Starts mutant `n`'s batch (`bgd-sim`'s `tests::mutant_batch`), its fixtures under `dir`
/// so that the batches running at once write none of each other's files.
fn batch(tests: &Path, n: usize, runs: u64, dir: &Path) -> Result<Child> {
    Command::new(tests)
        .args(["--exact", "tests::mutant_batch", "--ignored", "--nocapture"])
        .env("BGD_MUTANT", n.to_string())
        .env("BGD_SIM_RUNS", runs.to_string())
        .env("CARGO_TARGET_DIR", dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting a mutant's batch")
}

/// After how many runs the batch met its first violation, `None` if none did.
fn caught_after(child: Child) -> Result<Option<u64>> {
    let out = child.wait_with_output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let figure = |name: &str| -> Option<u64> {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|n| n.trim().parse().ok())
    };
    let (Some(ran), Some(violations)) = (figure("runs "), figure("violations ")) else {
        bail!(
            "the mutated build did not run its batch:\n{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    Ok((violations > 0).then_some(ran))
}

/// Runs the named scenarios against mutant `n`: the first that failed, `None` if all passed.
fn scenarios(tests: &Path, n: usize) -> Result<Option<String>> {
    let out = Command::new(tests)
        .arg("scenarios")
        .env("BGD_MUTANT", n.to_string())
        .output()?;
    if out.status.success() {
        return Ok(None);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let failed = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("scenarios::"))
        .and_then(|name| name.split_whitespace().next())
        .map(str::to_owned);
    match failed {
        Some(name) => Ok(Some(name)),
        None => bail!(
            "the mutated build's scenarios did not run:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::{collections::BTreeSet, fs, path::Path};

    use super::remove_untracked;

    #[test]
    fn a_file_the_workspace_no_longer_tracks_leaves_the_copy() {
        let copy = bgd_core::setup::target_dir().join("tests-mutants-copy");
        let _ = fs::remove_dir_all(&copy);
        fs::create_dir_all(copy.join("tests/tests/strict")).unwrap();
        for file in [
            "tests/tests/strict.rs",
            "tests/tests/strict/main.rs",
            "Cargo.toml",
        ] {
            fs::write(copy.join(file), "").unwrap();
        }
        let tracked = BTreeSet::from(["tests/tests/strict/main.rs", "Cargo.toml"]);
        remove_untracked(&copy, Path::new(""), &tracked).unwrap();
        assert!(!copy.join("tests/tests/strict.rs").exists());
        assert!(copy.join("tests/tests/strict/main.rs").exists());
        assert!(copy.join("Cargo.toml").exists());
    }
}
