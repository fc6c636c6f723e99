//! The repository's own rules, checked like any test; each failure says how to fix it.
mod house;
mod size;

use std::path::Path;

use bgd_core::setup;
use clap::CommandFactory;
use xtask::flags::Cli;

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

/// The workspace's Rust files.
fn workspace_rust_files() -> Vec<std::path::PathBuf> {
    let root = setup::workspace_root();
    let mut files = Vec::new();
    for dir in ["app", "xtask", "tests"] {
        rust_files(&root.join(dir), &mut files);
    }
    files
}

/// The workspace's Rust files, outside `allowed`, whose text contains `needle`.
fn files_containing(needle: &str, allowed: &Path) -> Vec<std::path::PathBuf> {
    workspace_rust_files()
        .into_iter()
        .filter(|f| !f.starts_with(allowed))
        .filter(|f| std::fs::read_to_string(f).unwrap().contains(needle))
        .collect()
}

// Before: three tests built their reqwest client with reqwest's own constructor, which panics
// unless another test of the same binary had installed rustls's provider first (run alone,
// `hold::promote_rolls_out_…` failed).
#[test]
fn only_bgd_tls_builds_http_clients() {
    let tls = setup::workspace_root().join("xtask/tls/src/lib.rs");
    for needle in [
        concat!("Client::", "new()"),
        concat!("Client::", "builder()"),
    ] {
        let stray = files_containing(needle, &tls);
        assert!(
            stray.is_empty(),
            "{stray:?} build a reqwest client with {needle}: use bgd_tls::client() or tls::http(), which install the ring provider first"
        );
    }
}

/// Every Rust file says what it is in its first line, so a reader opening any file is told.
#[test]
fn every_rust_file_opens_with_what_it_is() {
    let bare: Vec<_> = workspace_rust_files()
        .into_iter()
        .filter(|f| !std::fs::read_to_string(f).unwrap().starts_with("//!"))
        .collect();
    assert!(
        bare.is_empty(),
        "{bare:?} do not open with a `//!` line saying what they are: add one"
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
    for exit in bgd_core::outcome::Exit::ALL {
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

/// Every source folder is named in ARCHITECTURE.md's code map, and every folder the map names
/// exists: a new folder needs a line there, a removed one its line gone.
#[test]
fn the_architecture_code_map_names_every_source_folder() {
    let root = setup::workspace_root();
    let map = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let crates: Vec<String> = house::members(&house::metadata())
        .into_iter()
        .map(|(_, folder, _)| folder)
        .collect();
    let mut folders = Vec::new();
    for top in &crates {
        let mut files = Vec::new();
        for src in ["src", "tests"] {
            let dir = root.join(top).join(src);
            if dir.is_dir() {
                rust_files(&dir, &mut files);
            }
        }
        let top_level = [format!("{top}/src"), format!("{top}/tests")];
        for file in files {
            let folder = file.parent().unwrap().strip_prefix(root).unwrap();
            let folder = folder.display().to_string();
            if !top_level.contains(&folder) && !folders.contains(&folder) {
                folders.push(folder);
            }
        }
    }
    for folder in &folders {
        // Named whole, or within its crate's entry by the part below `src/`.
        let short = folder.split_once("/src/").map(|(_, below)| below);
        assert!(
            map.contains(&format!("`{folder}/`"))
                || short.is_some_and(|s| map.contains(&format!("`{s}/`"))),
            "ARCHITECTURE.md's code map does not name {folder}/: add what it is and what may use it"
        );
    }
    for named in map.split('`').skip(1).step_by(2) {
        let path = named.trim_end_matches('/');
        let is_folder_path = named.ends_with('/') && !named.contains(' ') && !named.contains('*');
        if is_folder_path {
            let exists = root.join(path).is_dir()
                || folders.iter().any(|f| f.ends_with(&format!("/{path}")))
                || crates
                    .iter()
                    .any(|c| root.join(c).join("src").join(path).is_dir());
            assert!(
                exists,
                "ARCHITECTURE.md names {named}, which is not a folder: fix the map"
            );
        }
    }
}
