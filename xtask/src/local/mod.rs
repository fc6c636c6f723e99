//! The local cloud: what stands in for AWS on a laptop (moto behind a strict front, a registry,
//! our data plane), and
//! `cargo xtask local` to run it.
mod components;
pub mod front;
mod gateway;
mod health;
mod lifecycle;
pub(crate) mod process;
mod state;
mod verbs;

pub use components::Component;
pub use lifecycle::{ComponentStatus, Endpoints, LocalCloud};
pub use local_gateway::FAULTS_PATH;
/// The Lambda Runtime API the gateway runs functions under, and the sandbox around them (also
/// used by bench and tests).
pub use local_gateway::{architecture, runtime, sandbox};
