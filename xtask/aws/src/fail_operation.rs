//! Fault injection for the tests, named as such and inert unless `BGD_FAULT_FAIL_OPERATION` is
//! set and the build is the tests' armed one (`bgd_core::hooks`): the AWS operation it names
//! (`UpdateFunctionCode`, ...) fails before it is sent, as a call Lambda refused would. moto
//! accepts updates real Lambda refuses (reserved or oversized environment, unpullable images),
//! so "a function whose update fails" needs this stand-in.
use aws_smithy_runtime_api::{
    box_error::BoxError,
    client::{
        interceptors::{Intercept, context::BeforeSerializationInterceptorContextRef},
        orchestrator::Metadata,
        runtime_components::RuntimeComponents,
    },
};
use aws_smithy_types::config_bag::ConfigBag;
use bgd_core::hooks::{FAIL_OPERATION, hook};

#[derive(Debug, Clone)]
pub(super) struct FailOperation(String);

impl FailOperation {
    pub(super) fn from_env() -> Option<Self> {
        hook(FAIL_OPERATION).map(Self)
    }
}

impl Intercept for FailOperation {
    fn name(&self) -> &'static str {
        "FailOperation"
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        config: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        match config.load::<Metadata>().map(Metadata::name) {
            Some(name) if name == self.0 => Err(format!(
                "fault injected by {FAIL_OPERATION}={name}: the call was refused"
            )
            .into()),
            _ => Ok(()),
        }
    }
}
