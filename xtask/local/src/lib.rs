//! The local cloud: what stands in for AWS on a laptop (moto behind a strict front, a registry,
//! our data plane) and their lifecycle; `cargo xtask local` (in `xtask`) runs it. No AWS SDK:
//! the data plane reads the control plane through `bgd-core`'s cloud traits.
mod components;
mod endpoints;
pub mod front;
pub mod gateway;
mod lifecycle;
mod liveness;
pub mod process;
mod state;

pub use components::{Component, ensure_emulator};
pub use endpoints::{DEFAULT_ACCOUNT, Endpoints};
pub use lifecycle::{ComponentStatus, LocalCloud};
pub use local_gateway::FAULTS_PATH;
/// The Lambda Runtime API the gateway runs functions under, and the sandbox around them (also
/// used by bench and tests).
pub use local_gateway::{architecture, runtime, sandbox};
