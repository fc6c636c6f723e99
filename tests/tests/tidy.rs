//! The repository's own rules, checked like any test; each failure says how to fix it.
use std::path::Path;

use clap::CommandFactory;
use xtask::{flags::Cli, setup};

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn only_the_cloud_module_imports_the_aws_sdk() {
    let root = setup::workspace_root();
    let cloud = root.join("xtask/src/cloud");
    let mut files = Vec::new();
    for dir in ["app", "xtask/src", "tests"] {
        rust_files(&root.join(dir), &mut files);
    }
    let stray: Vec<_> = files
        .iter()
        .filter(|f| !f.starts_with(&cloud))
        .filter(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .contains(concat!("aws_", "sdk_"))
        })
        .collect();
    assert!(
        stray.is_empty(),
        "{stray:?} use the AWS SDK: move those calls behind a trait in xtask/src/cloud/"
    );
}

#[test]
fn the_readme_documents_every_verb_and_names_only_real_ones() {
    let readme = std::fs::read_to_string(setup::workspace_root().join("README.md")).unwrap();
    let command = Cli::command();
    let verbs: Vec<&str> = command
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| c.get_name())
        .collect();
    for verb in &verbs {
        assert!(
            readme.contains(&format!("cargo xtask {verb}")),
            "README.md never shows `cargo xtask {verb}`: add a line saying what it does"
        );
    }
    for mention in readme.split("cargo xtask ").skip(1) {
        let word: String = mention
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '-')
            .collect();
        assert!(
            word.is_empty() || word.starts_with('-') || verbs.contains(&word.as_str()),
            "README.md names `cargo xtask {word}`, which is not a verb: fix the README or add the verb"
        );
    }
}

#[test]
fn the_readme_lists_every_exit_code() {
    let readme = std::fs::read_to_string(setup::workspace_root().join("README.md")).unwrap();
    for exit in xtask::outcome::Exit::ALL {
        let row = format!("| {} |", exit.code());
        assert!(
            readme.contains(&row),
            "README.md's exit table has no row `{row}` for {exit:?}: add it"
        );
    }
}

#[test]
fn every_verb_has_help() {
    let command = Cli::command();
    for verb in command.get_subcommands() {
        assert!(
            verb.get_about().is_some(),
            "`cargo xtask {}` has no doc comment: its first line is the --help text",
            verb.get_name()
        );
    }
    command.debug_assert();
}
