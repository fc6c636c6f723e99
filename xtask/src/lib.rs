//! The deploy tooling as a library, so the end-to-end tests drive the same code as `cargo xtask`.
mod bench;
pub mod cli;
pub mod cloud;
pub mod config;
pub mod fault;
pub mod flags;
mod iam;
pub mod image;
pub mod ledger;
pub mod local;
pub mod pipeline;
pub mod progress;
pub mod setup;
pub mod signal;
mod test;
mod verbs;
pub mod verify;
