//! The deploy tooling as a library, so the end-to-end tests drive the same code as `cargo xtask`.
pub mod cloud;
pub mod config;
pub mod flags;
pub mod local;
pub mod setup;
mod test;
