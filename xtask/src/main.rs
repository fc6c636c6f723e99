//! `cargo xtask`: the shipped binary, with the fault hooks unarmed (`cli.rs` does the work).
use std::process::ExitCode;

fn main() -> ExitCode {
    xtask::cli::main()
}
