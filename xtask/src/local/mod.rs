//! The local cloud: what stands in for AWS on a laptop (moto, a registry, our data plane), and
//! `cargo xtask local` to run it.
mod components;
mod gateway;
mod lifecycle;
pub(crate) mod process;
pub mod runtime;
mod state;
mod verbs;

pub use components::Component;
pub use lifecycle::{ComponentStatus, Endpoints, LocalCloud};
