//! The deploy's domain, with no AWS SDK and no network client: deploy.toml (`config`), the
//! state kept in AWS (`ledger`), the boundary traits to AWS (`cloud`), the image registry
//! (`image`) and the stage checks (`probe`), and the pipeline generic over them; what a rollout
//! watches (`health`) and what a run states (`outcome`). `bgd-aws` implements the traits on AWS,
//! `bgd-sim` in memory.
pub mod cloud;
pub mod config;
pub mod facts;
pub mod health;
pub mod hooks;
pub mod image;
pub mod ledger;
pub mod outcome;
pub mod phase;
pub mod pipeline;
pub mod probe;
pub mod progress;
pub mod secret;
pub mod setup;
pub mod signal;
