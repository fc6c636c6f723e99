//! The house's size: a Rust file holds one idea, and past 400 lines it usually holds two
//! (STYLE.md 16): split it into a folder, a module per concern.
use super::workspace_rust_files;
use bgd_core::setup;

const MOST_LINES: usize = 400;

/// The files left over the limit, each with why; the list only shrinks: a file back under the
/// limit must leave it.
const LEFT_OVER: &[&str] = &[
    // Its tests' names are cited as `strict::NAME` by docs/aws-behaviours.md: a split renames them.
    "tests/tests/strict.rs",
];

#[test]
fn no_rust_file_is_over_400_lines_but_those_left_over() {
    let root = setup::workspace_root();
    let mut over = Vec::new();
    for file in workspace_rust_files() {
        let lines = std::fs::read_to_string(&file).unwrap().lines().count();
        let path = file.strip_prefix(root).unwrap().display().to_string();
        let left = LEFT_OVER.contains(&path.as_str());
        if lines > MOST_LINES && !left {
            over.push(format!("{path} ({lines} lines)"));
        }
        assert!(
            lines > MOST_LINES || !left,
            "{path} has {lines} lines, within the limit: take it off size.rs's LEFT_OVER"
        );
    }
    assert!(
        over.is_empty(),
        "{over:?} are over {MOST_LINES} lines: split each into a folder, a module per concern"
    );
    for listed in LEFT_OVER {
        assert!(
            root.join(listed).exists(),
            "size.rs's LEFT_OVER names {listed}, which is gone: take it off"
        );
    }
}
