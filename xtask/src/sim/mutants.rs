//! `cargo xtask sim --mutants`: the oracle proven by planted bugs. Each mutant is one edit of
//! the pipeline that brings back a bug the simulation (or a review) found; it is planted in a
//! copy of the workspace (target/mutants/workspace, its own build cache beside it), the batch
//! is built there (`bgd-sim`'s example, no AWS SDK) and runs until the first violation: the
//! runs that took are printed. A mutant the batch does not catch fails the command.
use std::{fs, path::Path};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use bgd_core::setup;

/// One planted bug: in `file`, `from` (found exactly once) becomes `to`.
struct Mutant {
    name: &'static str,
    file: &'static str,
    from: &'static str,
    to: &'static str,
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
        from: "        options.keep,\n        &mut kept,",
        to: "        0,\n        &mut kept,",
    },
    Mutant {
        name: "a run releases a lock without checking it is its own",
        file: CLEANUP,
        from: "if blue.variables.get(TOKEN_VARIABLE).map(String::as_str) != Some(token) {",
        to: "if blue.variables.get(TOKEN_VARIABLE).is_none() {",
    },
    Mutant {
        name: "a takeover does not re-read the lock it replaces",
        file: LOCK,
        from: "            Some(now) if now != *held => return Err(lost()),",
        to: "            Some(now) if now != *held && must_exist => return Err(lost()),",
    },
    Mutant {
        name: "a deploy promotes without checking it still holds the lock",
        file: PROMOTE,
        from: "        self.still_holds(api, token.expose()).await?;\n        if !plan.watches() {",
        to: "        if !plan.watches() {",
    },
    Mutant {
        name: "a rollout writes green without checking its lock",
        file: ROLLOUT,
        from: "        let Some((api, token)) = lock else {\n            return Ok(());\n        };",
        to: "        let Some((api, token)) = lock.filter(|_| false) else {\n            return Ok(());\n        };",
    },
    Mutant {
        name: "the hold is written into the lock when it is taken",
        file: LOCK,
        from: "let taken = LockOptions { hold: None, ..lock };",
        to: "let taken = lock;",
    },
    Mutant {
        name: "green is written without the RevisionId guard",
        file: PROMOTE,
        from: "                current.revision_id.as_deref(),",
        to: "                None,",
    },
    Mutant {
        name: "a dry run removes a lock left behind",
        file: DEPLOY,
        from: "    if options.dry_run {\n        return Ok(None);\n    }\n    ctx.release_left_lock",
        to: "    ctx.release_left_lock",
    },
    Mutant {
        name: "deploy --unpin drops --break-lock",
        file: DEPLOY,
        from: "super::unpin::unpin(ctx, false, options.break_lock).await?;",
        to: "super::unpin::unpin(ctx, false, false).await?;",
    },
    Mutant {
        name: "a failing run settles a split it no longer holds the lock for",
        file: "xtask/core/src/pipeline/rollout/recover.rs",
        from: "            self.still_holds(api, token).await?;\n",
        to: "",
    },
];

/// Plants each mutant in turn and runs at most `runs` seeds against it.
pub(super) fn run(runs: u64) -> Result<()> {
    let sh = Shell::new()?;
    let root = setup::workspace_root();
    let base = setup::target_dir().join("mutants");
    let copy = base.join("workspace");
    copy_workspace(&sh, root, &copy)?;
    let target = base.join("target");
    let mut missed = Vec::new();
    for mutant in MUTANTS {
        let file = copy.join(mutant.file);
        let original = fs::read_to_string(root.join(mutant.file))?;
        if original.matches(mutant.from).count() != 1 {
            bail!(
                "mutant \"{}\": its text is not found once in {} (the code moved: update sim/mutants.rs)",
                mutant.name,
                mutant.file
            );
        }
        fs::write(&file, original.replacen(mutant.from, mutant.to, 1))?;
        let caught = batch(&sh, &copy, &target, runs)
            .with_context(|| format!("mutant \"{}\"", mutant.name))?;
        fs::write(&file, &original)?;
        match caught {
            Some(after) => println!("caught  after {after:>5} runs  {}", mutant.name),
            None => {
                println!("MISSED  in    {runs:>5} runs  {}", mutant.name);
                missed.push(mutant.name);
            }
        }
    }
    if !missed.is_empty() {
        bail!(
            "{} of {} mutants not caught: {missed:?}",
            missed.len(),
            MUTANTS.len()
        );
    }
    Ok(())
}

/// The tracked files of the workspace at `root`, copied to `copy` (as they are, edits too).
fn copy_workspace(sh: &Shell, root: &Path, copy: &Path) -> Result<()> {
    let _dir = sh.push_dir(root);
    let files = cmd!(sh, "git ls-files").read()?;
    for file in files.lines() {
        let to = copy.join(file);
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent)?;
        }
        let from = root.join(file);
        if from.is_file() {
            fs::copy(&from, &to).with_context(|| format!("copying {file}"))?;
        }
    }
    Ok(())
}

/// Builds the copy's batch (`bgd-sim`'s example: the pipeline without the AWS SDK) and runs
/// it to the first violation: after how many runs it came, `None` if none did.
fn batch(sh: &Shell, copy: &Path, target: &Path, runs: u64) -> Result<Option<u64>> {
    let _dir = sh.push_dir(copy);
    let _target = sh.push_env("CARGO_TARGET_DIR", target);
    let runs = runs.to_string();
    let out = cmd!(sh, "cargo run -q -p bgd-sim --example batch -- {runs}")
        .ignore_status()
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let figure = |name: &str| -> Option<u64> {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|n| n.trim().parse().ok())
    };
    let (Some(ran), Some(violations)) = (figure("runs "), figure("violations ")) else {
        bail!(
            "the mutated build did not run its batch:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    Ok((violations > 0).then_some(ran))
}
