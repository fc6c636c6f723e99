//! How CI gets its tools: every package pip installs is pinned by hash, and nothing is fetched
//! by an installer that checks no hash of ours (security-audit-3 #21).
use super::*;

/// The scripts CI runs, by name: the workflows' `run:` scripts, `.ci/`, and the Dockerfile
/// (whose zig links the shipped `bootstrap`).
fn ci_scripts() -> Vec<(String, String)> {
    let root = setup::workspace_root();
    let mut scripts: Vec<(String, String)> = [".ci/run", ".ci/lint", "Dockerfile"]
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(root.join(file)).unwrap();
            (file.to_owned(), text)
        })
        .collect();
    for name in ALL_WORKFLOWS {
        for script in run_scripts(&workflow(name)) {
            scripts.push((name.to_owned(), script.to_owned()));
        }
    }
    scripts
}

/// Installers that fetch a tool by name or address and check no hash the repository pins.
/// (Debian's apt-get and rustup check what they fetch against their own signed indexes.)
const UNPINNED: [&[&str]; 7] = [
    &["npm", "install"],
    &["npm", "i"],
    &["npx"],
    &["cargo", "install"],
    &["pipx"],
    &["curl"],
    &["wget"],
];

#[test]
fn every_tool_ci_installs_is_pinned_by_hash() {
    let root = setup::workspace_root();
    let mut pip_installs = 0;
    for (file, script) in ci_scripts() {
        for command in commands(&script.replace("\\\n", " ")) {
            let words: Vec<&str> = command
                .split_whitespace()
                .map(|w| w.trim_matches('"'))
                .collect();
            // Each word as a program name: `"$venv/bin/pip"` is pip.
            let programs: Vec<&str> = words
                .iter()
                .map(|w| w.rsplit('/').next().unwrap_or(w))
                .collect();
            for installer in UNPINNED {
                assert!(
                    !programs
                        .windows(installer.len())
                        .any(|run| run == installer),
                    "{file}: `{command}` fetches a tool by no pinned hash: install it with pip from a requirements file in xtask/core/tools/ (pip-compile --generate-hashes)"
                );
            }
            let Some(pip) = programs.iter().position(|p| ["pip", "pip3"].contains(p)) else {
                continue;
            };
            if words.get(pip + 1) != Some(&"install") {
                continue;
            }
            pip_installs += 1;
            assert!(
                words.contains(&"--require-hashes") && words.contains(&"--only-binary"),
                "{file}: `{command}` must install with --require-hashes --only-binary :all:, so pip takes only the wheels pinned"
            );
            let requirements = words
                .iter()
                .position(|w| *w == "-r")
                .and_then(|r| words.get(r + 1))
                .unwrap_or_else(|| panic!("{file}: `{command}` names no requirements file (-r)"));
            assert!(
                requirements.starts_with("xtask/core/tools/"),
                "{file}: `{command}`: the pins live in xtask/core/tools/"
            );
            let pins = std::fs::read_to_string(root.join(requirements)).unwrap();
            let unhashed = setup::unhashed_requirements(&pins);
            assert!(
                unhashed.is_empty(),
                "{requirements} pins {unhashed:?} by no hash: regenerate it with `pip-compile --generate-hashes`"
            );
        }
    }
    // The linters (.ci/lint) and the Dockerfile's zig.
    assert_eq!(pip_installs, 2, "a pip install this test no longer sees");
}
