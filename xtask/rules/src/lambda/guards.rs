//! Lambda's write guards: a function busy (Pending, an update InProgress) or moved since the
//! RevisionId the caller read refuses a write; so does a CodeSha256 or an alias RevisionId that
//! no longer matches.
use super::Function;

/// Why Lambda refuses a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// ResourceConflictException: the function is still Pending.
    Pending,
    /// ResourceConflictException: an update of `$LATEST` is in progress.
    Updating,
    /// PreconditionFailedException: the RevisionId given is not the current one.
    RevisionMoved,
    /// InvalidParameterValueException (400), not PreconditionFailedException: `$LATEST`'s
    /// CodeSha256 is not the one given. Recorded against AWS by LocalStack's AWS-validated
    /// `test_publish_with_wrong_sha256` and measured on the live service in floci-io/floci#2822
    /// (aws-audit-3 N5); PreconditionFailed is RevisionId's alone.
    CodeSha256 { given: String, current: String },
}

/// How Lambda answers a [`Refusal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    /// ResourceConflictException (409): retry later.
    Conflict,
    /// PreconditionFailedException (412).
    PreconditionFailed,
    /// InvalidParameterValueException (400).
    InvalidParameter,
}

impl Refusal {
    pub fn answered(&self) -> Answered {
        match self {
            Self::Pending | Self::Updating => Answered::Conflict,
            Self::RevisionMoved => Answered::PreconditionFailed,
            Self::CodeSha256 { .. } => Answered::InvalidParameter,
        }
    }

    /// Lambda's message for it; `arn` names the function.
    pub fn message(&self, arn: &str) -> String {
        match self {
            Self::Pending => "The operation cannot be performed at this time. The function is currently in the following state: Pending".into(),
            Self::Updating => format!("The operation cannot be performed at this time. An update is in progress for resource: {arn}"),
            Self::RevisionMoved => "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id".into(),
            Self::CodeSha256 { given, current } => format!("CodeSHA256 ({given}) is different from current CodeSHA256 in $LATEST ({current}). Please try again with the CodeSHA256 in $LATEST."),
        }
    }
}

/// What every write to an existing function checks first (UpdateFunctionCode,
/// UpdateFunctionConfiguration, PublishVersion): neither busy nor moved since `revision_id`.
pub fn busy_or_moved(function: &Function, now: u64, revision_id: Option<&str>) -> Option<Refusal> {
    if now < function.active_at {
        return Some(Refusal::Pending);
    }
    if function.updating(now) {
        return Some(Refusal::Updating);
    }
    revision_id
        .filter(|given| *given != function.revision_at(now))
        .map(|_| Refusal::RevisionMoved)
}

/// PublishVersion's CodeSha256 guard: `$LATEST` must still run the code the caller saw.
pub fn code_sha256_moved(function: &Function, given: Option<&str>) -> Option<Refusal> {
    let current = function.code_sha256();
    given
        .filter(|given| *given != current)
        .map(|given| Refusal::CodeSha256 {
            given: given.to_owned(),
            current: current.to_owned(),
        })
}

/// UpdateAlias's RevisionId guard: the alias must not have moved since `given` was read.
pub fn alias_moved(current: Option<&str>, given: Option<&str>) -> Option<Refusal> {
    match (current, given) {
        (Some(current), Some(given)) if current != given => Some(Refusal::RevisionMoved),
        _ => None,
    }
}
