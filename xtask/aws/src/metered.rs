//! Counts the write calls a run makes: AWS's as the SDK sends them (one per operation, retries
//! not counted twice), and the image registry's (blob uploads, manifest puts) beside them.
//! `bench` reports them, a rollback of a verified version must make one, and the read-only verbs
//! none.
use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use aws_smithy_runtime_api::{
    box_error::BoxError,
    client::{
        interceptors::{Intercept, context::BeforeSerializationInterceptorContextRef},
        orchestrator::Metadata,
        runtime_components::RuntimeComponents,
    },
};
use aws_smithy_types::config_bag::ConfigBag;

use super::Operation;

#[derive(Debug, Clone, Default)]
pub struct WriteMeter(Arc<AtomicUsize>);

impl WriteMeter {
    pub(super) fn count(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    /// One more write, sent outside the SDK (the registry's).
    pub fn add(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

impl Intercept for WriteMeter {
    fn name(&self) -> &'static str {
        "WriteMeter"
    }

    // Client interceptors see `read_before_execution` before the operation's configuration
    // (its Metadata) is applied; serialization happens once per operation, after it.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        config: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let name = config.load::<Metadata>().map(Metadata::name);
        // Our operation names are AWS's; an operation we do not list is counted as a write.
        let is_write = name
            .and_then(|name| name.parse::<Operation>().ok())
            .is_none_or(Operation::is_write);
        if is_write {
            self.add();
        }
        Ok(())
    }
}
