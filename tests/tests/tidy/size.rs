//! The house's size: a Rust file holds one idea, and past 400 lines it usually holds two
//! (STYLE.md 16): split it into a folder, a module per concern.
use super::workspace_rust_files;
use bgd_core::setup;

const MOST_LINES: usize = 400;

#[test]
fn no_rust_file_is_over_400_lines() {
    let root = setup::workspace_root();
    let mut over = Vec::new();
    for file in workspace_rust_files() {
        let lines = std::fs::read_to_string(&file).unwrap().lines().count();
        if lines > MOST_LINES {
            let path = file.strip_prefix(root).unwrap().display().to_string();
            over.push(format!("{path} ({lines} lines)"));
        }
    }
    assert!(
        over.is_empty(),
        "{over:?} are over {MOST_LINES} lines: split each into a folder, a module per concern"
    );
}
