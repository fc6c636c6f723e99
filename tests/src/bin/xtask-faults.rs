//! `cargo xtask` with the fault hooks armed (`BGD_FAULT_KILL_AT`, `BGD_FAULT_FAIL_OPERATION`):
//! built by this test crate only, beside the tests that need it, from the xtask library they
//! already compile, so the SDK is not built twice. The shipped binary never arms them.
use std::process::ExitCode;

fn main() -> ExitCode {
    bgd_core::hooks::arm();
    xtask::cli::main()
}
