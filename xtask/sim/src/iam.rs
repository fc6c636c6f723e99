//! IAM in the in-memory AWS: roles by name, each with its trust policy and inline policies, as
//! IAM answers for them (a role twice is EntityAlreadyExists, 409; a missing one NoSuchEntity,
//! 404: the IAM API reference's errors, LocalStack's AWS-validated `test_iam.snapshot.json`),
//! and Lambda's view of a role: assumable only once IAM has propagated it (`Delays::role_ms`).
use std::collections::BTreeMap;

use super::{aws::Refused, world::World};

#[derive(Debug, Clone)]
pub(super) struct IamRole {
    /// IAM's unique id (`AROA…`), which a role made again under the same name does not keep.
    pub id: String,
    /// When it was created (virtual ms).
    pub created_ms: u64,
    pub trust: String,
    /// Inline policies: name → document.
    pub policies: BTreeMap<String, String>,
}

impl World {
    /// Whether Lambda can assume the role `arn` names at `now`: it exists and IAM has had
    /// `role_ms` to propagate it.
    pub(super) fn role_assumable(&self, arn: &str, now: u64) -> bool {
        let name = arn.rsplit('/').next().unwrap_or_default();
        self.roles
            .get(name)
            .is_some_and(|role| now >= role.created_ms + self.delays.role_ms)
    }

    pub(super) fn create_role(&mut self, name: &str, trust: &str) -> Result<&IamRole, Refused> {
        if self.roles.contains_key(name) {
            return Err(Refused::new(
                409,
                "EntityAlreadyExists",
                format!("Role with name {name} already exists."),
            ));
        }
        let now = self.now();
        // Not from the run's random draws: a role made by the pipeline must not shift them.
        let hash = name
            .bytes()
            .fold(now, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        let role = IamRole {
            id: format!("AROA{hash:016X}"),
            created_ms: now,
            trust: trust.to_owned(),
            policies: BTreeMap::new(),
        };
        Ok(self.roles.entry(name.to_owned()).or_insert(role))
    }

    pub(super) fn put_role_policy(
        &mut self,
        role: &str,
        policy: &str,
        document: &str,
    ) -> Result<(), Refused> {
        let role = self.roles.get_mut(role).ok_or_else(|| no_such_role(role))?;
        role.policies.insert(policy.to_owned(), document.to_owned());
        Ok(())
    }
}

/// IAM's answer for a role that does not exist.
pub(super) fn no_such_role(name: &str) -> Refused {
    Refused::new(
        404,
        "NoSuchEntity",
        format!("The role with name {name} cannot be found."),
    )
}
