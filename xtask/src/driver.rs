//! One isolated stack driven through the real `cargo xtask` binary, for the bench and the
//! end-to-end tests alike: a folder with its own deploy.toml (`BGD_DEPLOY_TOML`) and its own
//! local cloud (`BGD_LOCAL_DIR`), every verb run with `--local --json`, the local cloud stopped
//! when the stack goes.
use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// A stack in `dir`; its local cloud is stopped on drop, by `exe`.
pub struct Isolated {
    dir: PathBuf,
    exe: PathBuf,
}

impl Isolated {
    /// A stack in `dir` with a fresh local cloud (an earlier one's is stopped and removed; the
    /// folder's other files stay), driven by the xtask binary `exe`, its deploy.toml
    /// `deploy_toml`.
    pub fn fresh(dir: PathBuf, exe: PathBuf, deploy_toml: &str) -> std::io::Result<Self> {
        let stack = Self { dir, exe };
        stack.down();
        let _ = std::fs::remove_dir_all(stack.local_dir());
        std::fs::create_dir_all(&stack.dir)?;
        std::fs::write(stack.deploy_toml(), deploy_toml)?;
        Ok(stack)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn deploy_toml(&self) -> PathBuf {
        self.dir.join("deploy.toml")
    }

    pub fn local_dir(&self) -> PathBuf {
        self.dir.join("local")
    }

    /// `BINARY ARGS --local --json` on this stack (the binary `exe`, or the tests' armed
    /// build), not yet started.
    pub fn command(&self, binary: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(binary);
        command
            .args(args)
            .args(["--local", "--json"])
            .env("BGD_DEPLOY_TOML", self.deploy_toml())
            .env("BGD_LOCAL_DIR", self.local_dir());
        command
    }

    /// The xtask binary that drives this stack.
    pub fn exe(&self) -> &Path {
        &self.exe
    }

    /// `cargo xtask local down` for this stack's local cloud (nothing to stop is fine).
    fn down(&self) {
        let _ = Command::new(&self.exe)
            .args(["local", "down"])
            .env("BGD_LOCAL_DIR", self.local_dir())
            .output();
    }
}

impl Drop for Isolated {
    fn drop(&mut self) {
        self.down();
    }
}
