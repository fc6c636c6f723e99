//! `cargo xtask`: the verbs over the crates beside this one (`bgd-core`, `bgd-aws`,
//! `bgd-local`, `bgd-sim`), as a library so the end-to-end tests drive the same code.
mod bench;
mod build;
pub mod cli;
mod conformance;
mod doctor;
pub mod driver;
mod environments;
pub mod flags;
mod iam;
mod local;
mod output;
mod places;
mod sim;
mod test;
mod verbs;
