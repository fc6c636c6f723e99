//! Lambda's function and version states and its write guards, as AWS documents them
//! (<https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html>,
//! <https://docs.aws.amazon.com/lambda/latest/api/API_PublishVersion.html>,
//! <https://docs.aws.amazon.com/lambda/latest/api/API_UpdateAlias.html>): a new function or
//! version is Pending, an update leaves LastUpdateStatus InProgress, an idle version goes
//! Inactive; a write while Pending or updating is ResourceConflictException; a RevisionId or
//! CodeSha256 that no longer matches is PreconditionFailedException; a publish with no update
//! since the last version answers that version ([`unpublished_since`]); an alias's routing
//! configuration follows [`routing_refusal`]. Times are milliseconds on
//! whatever clock the model keeps (the front: the wall clock; the simulation: virtual time).
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Delays;

/// One function as Lambda keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Function {
    /// The image `$LATEST` runs (`REPO@sha256:…`: what `Code.ResolvedImageUri` answers).
    pub image: String,
    /// The ImageUri as given, when it named a tag Lambda resolved to `image`: what
    /// `Code.ImageUri` answers (recorded: LocalStack's AWS-validated `test_lambda_image_crud`,
    /// `ImageUri: REPO:latest` beside `ResolvedImageUri: REPO@sha256:…`).
    #[serde(default)]
    pub given_image: Option<String>,
    /// Pending until then (a new function, while Lambda optimises its image).
    pub active_at: u64,
    /// LastUpdateStatus InProgress until then; `None` before the first update (a new
    /// function reports no LastUpdateStatus).
    pub updated_at: Option<u64>,
    /// `$LATEST` was Inactive (idle) when its running update began: it stays Inactive until
    /// the update ends (see [`Function::begin_update`]).
    #[serde(default)]
    pub idle_when_updated: bool,
    /// `$LATEST`'s RevisionId as the last write left it, while it is Pending or updating.
    pub revision: String,
    /// The RevisionId it has once that write settled: Lambda gives `$LATEST` a new one when it
    /// turns Active and when an update completes (see [`Function::revision_at`]).
    #[serde(default)]
    pub settled_revision: String,
    /// `$LATEST`'s `Architectures` (one name), which UpdateFunctionCode may switch (moto
    /// ignores that; the front keeps it).
    #[serde(default = "default_architecture")]
    pub architecture: String,
    /// `$LATEST`'s execution role and dead-letter target, which a version keeps (moto keeps
    /// no dead-letter configuration; the front does, for the alias routing rule).
    #[serde(default)]
    pub runs_as: RunsAs,
    pub versions: BTreeMap<String, Published>,
    /// Alias name → its RevisionId.
    pub aliases: BTreeMap<String, String>,
    /// Qualifier (a version or an alias; `""` for the unqualified function) → its resource
    /// policy: statement id → statement (see [`add_permission`]).
    #[serde(default)]
    pub policies: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Published {
    pub image: String,
    /// `$LATEST`'s `given_image` when this version was published.
    #[serde(default)]
    pub given_image: Option<String>,
    /// What `$LATEST` ran on when this version was published: a version keeps it.
    #[serde(default = "default_architecture")]
    pub architecture: String,
    /// `$LATEST`'s role and dead-letter target when this version was published.
    #[serde(default)]
    pub runs_as: RunsAs,
    /// `$LATEST`'s RevisionId it was cut from (see [`unpublished_since`]).
    #[serde(default)]
    pub cut_from: String,
    /// The version's own RevisionId (published versions carry one).
    #[serde(default)]
    pub revision: String,
    /// Pending until then.
    pub active_at: u64,
    /// The last invocation (or activation): idle since then.
    pub used_at: u64,
    /// Lambda found the image gone from ECR when it fetched it: Failed for good (see
    /// [`invoke`]).
    #[serde(default)]
    pub image_gone: bool,
}

/// What an alias's two versions must share: the execution role and the dead-letter target
/// (none on both is the same).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunsAs {
    pub role: String,
    pub dead_letter: Option<String>,
}

/// What Lambda runs a function on when nobody said (and what books written before
/// architectures were kept hold).
pub fn default_architecture() -> String {
    "x86_64".into()
}

/// Lambda's `State` of a function or version at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pending,
    Active,
    Inactive,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Active => "Active",
            Self::Inactive => "Inactive",
            Self::Failed => "Failed",
        }
    }
}

impl Published {
    /// A version's LastUpdateStatus: none while it is Pending, then Successful (recorded:
    /// `test_publish_with_update` get_function_version_result).
    pub fn last_update_status(&self, now: u64) -> Option<&'static str> {
        (now >= self.active_at).then_some("Successful")
    }

    pub fn status(&self, now: u64, delays: &Delays) -> Status {
        if self.image_gone {
            Status::Failed
        } else if now < self.active_at {
            Status::Pending
        } else if now.saturating_sub(self.used_at.max(self.active_at)) > delays.idle_ms {
            Status::Inactive
        } else {
            Status::Active
        }
    }
}

impl Function {
    /// `$LATEST`'s State: Pending while Lambda optimises a new function's image; then, as
    /// every version of an image function, Inactive once idle for `delays.idle_ms`, counted
    /// from its activation or its last update's end. In this design `$LATEST` is never
    /// invoked (traffic reaches published versions through aliases), so it goes idle weeks
    /// after each deploy on AWS (aws-audit-3 N4, docs/aws-behaviours.md).
    /// (<https://docs.aws.amazon.com/lambda/latest/dg/invocation-images.html>)
    pub fn status(&self, now: u64, delays: &Delays) -> Status {
        let settled = self.updated_at.unwrap_or(0).max(self.active_at);
        if now < self.active_at {
            Status::Pending
        } else if self.updating(now) {
            if self.idle_when_updated {
                Status::Inactive
            } else {
                Status::Active
            }
        } else if now.saturating_sub(settled) > delays.idle_ms {
            Status::Inactive
        } else {
            Status::Active
        }
    }

    /// An update (code or configuration) begins at `now`: InProgress for `delays.update_ms`.
    /// Lambda takes updates on an Active or Inactive function; an Inactive one stays Inactive
    /// until the update ends, when its new image is optimised and it is Active again.
    pub fn begin_update(&mut self, now: u64, delays: &Delays) {
        self.idle_when_updated = self.status(now, delays) == Status::Inactive;
        self.updated_at = Some(now + delays.update_ms);
    }

    pub fn updating(&self, now: u64) -> bool {
        self.updated_at.is_some_and(|end| now < end)
    }

    /// `$LATEST`'s LastUpdateStatus: none while a new function is Pending (its CreateFunction
    /// answer has none), Successful once it is Active, InProgress while an update runs.
    /// Recorded: LocalStack's AWS-validated `test_lambda_image_versions` (create_image_response,
    /// get_function_result, first_update_response).
    pub fn last_update_status(&self, now: u64) -> Option<&'static str> {
        if self.updating(now) {
            Some("InProgress")
        } else if self.updated_at.is_none() && now < self.active_at {
            None
        } else {
            Some("Successful")
        }
    }

    /// `$LATEST`'s RevisionId at `now`: the last write's while it is Pending or updating, a new
    /// one once it settled (recorded: `test_lambda_image_versions` create_image_response →
    /// get_function_result and first_update_response → first_update_get_function each answer
    /// another RevisionId; `test_function_revisions_version_and_alias` one more after
    /// PublishVersion).
    pub fn revision_at(&self, now: u64) -> &str {
        let settling = now < self.active_at || self.updating(now);
        if settling || self.settled_revision.is_empty() {
            &self.revision
        } else {
            &self.settled_revision
        }
    }

    /// A write gives `$LATEST` `revision` now and `settled` once the write has settled.
    pub fn revise(&mut self, revision: String, settled: String) {
        self.revision = revision;
        self.settled_revision = settled;
    }

    /// CodeSha256 of `$LATEST`: the image digest's hex (what Lambda reports for an image).
    pub fn code_sha256(&self) -> &str {
        digest_hex(&self.image)
    }
}

/// The hex of an ImageUri's `@sha256:` digest (empty when it has none).
pub fn digest_hex(image: &str) -> &str {
    image.rsplit_once("@sha256:").map_or("", |(_, hex)| hex)
}

/// Lambda's `StateReason` and `StateReasonCode` for a `State` other than Active (recorded:
/// create_image_response's "The function is being created." / Creating).
pub fn state_reason(state: &str) -> Option<(&'static str, &'static str)> {
    match state {
        "Pending" => Some(("The function is being created.", "Creating")),
        "Inactive" => Some(("The function is inactive.", "Idle")),
        // The code is API_FunctionConfiguration's StateReasonCode; the words are ours (unrecorded).
        "Failed" => Some(("The function's image was deleted from ECR.", "ImageDeleted")),
        _ => None,
    }
}

/// Lambda's `LastUpdateStatusReason` and `LastUpdateStatusReasonCode` while an update is
/// InProgress (recorded: first_update_response).
pub fn update_reason(last_update_status: &str) -> Option<(&'static str, &'static str)> {
    (last_update_status == "InProgress").then_some(("The function is being created.", "Creating"))
}

/// PublishVersion with `$LATEST` not updated since the last version was cut from it: Lambda
/// publishes nothing and answers with that version. "Unchanged" is any update at all, not the
/// bytes: an UpdateFunctionCode or UpdateFunctionConfiguration, even with what `$LATEST`
/// already had, makes the next publish a new version (moto's maintainers checked this on AWS,
/// getmoto/moto#8379), so `deploy`, which updates both before it publishes, always gets one.
pub fn unpublished_since(function: &Function) -> Option<&str> {
    let (number, last) = function
        .versions
        .iter()
        .max_by_key(|(number, _)| number.parse::<u64>().unwrap_or(0))?;
    (last.cut_from == function.revision).then_some(number.as_str())
}

/// Records version `number` (as Lambda numbered it) running `$LATEST`'s image, with its own
/// RevisionId `version_revision`, Active from `active_at`. PublishVersion needs a settled
/// `$LATEST` ([`busy_or_moved`]) and gives it a new RevisionId first ([`Function::revise`]);
/// a version published from it is Active at once (`active_at` is now), with LastUpdateStatus
/// Successful (recorded: `test_lambda_image_versions` first_publish_response,
/// `test_alias_lifecycle` publish_v1, `test_function_revisions_version_and_alias`
/// get_function_latest_rev3); `Publish=true` on CreateFunction or UpdateFunctionCode cuts a
/// version Pending until that write settles (`test_publish_version_on_create`,
/// `test_publish_with_update`).
pub fn publish(function: &mut Function, number: String, active_at: u64, version_revision: String) {
    let (image, architecture) = (function.image.clone(), function.architecture.clone());
    let given_image = function.given_image.clone();
    let (runs_as, cut_from) = (function.runs_as.clone(), function.revision.clone());
    function
        .versions
        .entry(number)
        .or_insert_with(|| Published {
            image,
            given_image,
            architecture,
            runs_as,
            cut_from,
            revision: version_revision,
            active_at,
            used_at: active_at,
            image_gone: false,
        });
}

/// An invocation of a published version at `now`: Active runs (and counts as use); Pending and
/// Failed are refused; Inactive fails and starts warming up (Pending for `delays.pending_ms`),
/// for which Lambda fetches the image from ECR again: when it is gone (`image_held` false) the
/// version is Failed for good (Lambda's container image lifecycle: an image gone from ECR, or
/// whose pull permission is revoked, leaves the function Failed,
/// <https://docs.aws.amazon.com/lambda/latest/dg/invocation-images.html>; aws-audit-3 N4).
/// Lambda also fetches it periodically, when is not said: a model sees the loss at the warm-up.
pub fn invoke(published: &mut Published, now: u64, delays: &Delays, image_held: bool) -> Status {
    let status = published.status(now, delays);
    match status {
        Status::Active => published.used_at = now,
        Status::Pending | Status::Failed => {}
        Status::Inactive if !image_held => {
            published.image_gone = true;
            return Status::Failed;
        }
        Status::Inactive => {
            published.active_at = now + delays.pending_ms;
            published.used_at = published.active_at;
        }
    }
    status
}

/// What a listed configuration (ListVersionsByFunction) leaves out: its state and its last
/// update's (recorded: LocalStack's AWS-validated `test_lambda_image_versions`,
/// list_versions_result; API_ListFunctions: "does not include State, StateReasonCode,
/// LastUpdateStatus"). A model's boundary reads a missing State as Active.
pub const LISTED_WITHOUT: &[&str] = &[
    "State",
    "StateReason",
    "StateReasonCode",
    "LastUpdateStatus",
    "LastUpdateStatusReason",
    "LastUpdateStatusReasonCode",
];

/// UpdateFunctionCode of an image function without an ImageUri (a zip, an S3 object): Lambda
/// refuses it with InvalidParameterValueException (recorded: LocalStack's AWS-validated
/// `test_lambda_image_crud`, image-to-zipfile-error).
pub const IMAGE_UPDATE_WITHOUT_IMAGE: &str =
    "Please provide ImageUri when updating a function with packageType Image.";

mod address;
mod guards;
mod permission;
mod routing;
#[cfg(test)]
mod tests;

pub use address::{Address, Deletion, addressed, delete_version};
pub use guards::{Answered, Refusal, alias_moved, busy_or_moved, code_sha256_moved};
pub use permission::{Permission, add_permission, policy, remove_permission, statement};
pub use routing::{Routing, routing_refusal};
