//! The local cloud: what stands in for AWS on a laptop (moto, a registry, our data plane).
pub mod runtime;
