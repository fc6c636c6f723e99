//! Shared set-up for the end-to-end tests: where the release `bootstrap` is and which events
//! to send it. `cargo xtask test` builds the binary before running these.
pub mod local;
pub mod prober;
pub mod process;
pub mod schema;
pub mod stack;

use std::path::PathBuf;

use bgd_core::setup;

/// The release `bootstrap` for x86_64 Lambda, as `cargo xtask test` builds it.
pub fn release_bootstrap() -> PathBuf {
    let path = setup::target_dir().join("x86_64-unknown-linux-musl/release/bootstrap");
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo xtask test`, which builds it first",
        path.display()
    );
    path
}

/// An API Gateway REST proxy event from the app's fixtures (`app/tests/events/NAME.json`).
pub fn event(name: &str) -> Vec<u8> {
    let path = setup::workspace_root().join(format!("app/tests/events/{name}.json"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The sandbox fixture `misbehave` (tests/fixtures) for `target`, as `cargo xtask test` builds
/// it: `x86_64-unknown-linux-musl` (static, as Lambda needs) or `x86_64-unknown-linux-gnu`
/// (linked against the host's glibc, which a `FROM scratch` image lacks).
pub fn misbehave_path(target: &str) -> PathBuf {
    let path = setup::target_dir().join(format!("{target}/debug/misbehave"));
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo xtask test`, which builds it first",
        path.display()
    );
    path
}

/// The bytes of [`misbehave_path`].
pub fn misbehave(target: &str) -> Vec<u8> {
    std::fs::read(misbehave_path(target)).unwrap()
}
