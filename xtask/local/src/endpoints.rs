//! Where the running local cloud answers, and as whom: the front, moto, the registry and the
//! gateway, for one account in one region.
use std::fmt;

use serde::Serialize;

use bgd_core::cloud::Target;

/// The account of a caller whose credentials name none (`local`): moto's default account.
pub const DEFAULT_ACCOUNT: &str = "123456789012";

/// Where the running local cloud answers, for one account in one region.
#[derive(Debug, Clone, Serialize)]
pub struct Endpoints {
    /// The strict front: what the SDK talks to (`AWS_ENDPOINT_URL`).
    pub front_url: String,
    /// moto behind it (for looking past the front in tests).
    pub moto_url: String,
    pub registry_url: String,
    /// The data plane of this account and region: the gateway itself for the default account
    /// (its `/{stage}/{path}` serves deploy.toml's region), else the URL naming them
    /// ([`local_gateway::scoped_url`]).
    pub gateway_url: String,
    pub region: String,
    /// The account calls are signed as (its id is the access key id); `None`: the local
    /// cloud's default account ([`DEFAULT_ACCOUNT`]).
    pub account: Option<String>,
}

impl Endpoints {
    /// What the cloud module connects to.
    pub fn target(&self) -> Target {
        self.target_in(self.account.as_deref(), &self.region)
    }

    /// What the cloud module connects to as `account` (`None`: the default one) in `region`.
    pub fn target_in(&self, account: Option<&str>, region: &str) -> Target {
        Target::Local {
            endpoint_url: self.front_url.clone(),
            region: region.to_owned(),
            account: account.map(str::to_owned),
            reach: Default::default(),
        }
    }

    /// These endpoints as `account` (`None`: the default one) in `region`: their target, their
    /// environment and their gateway URL (under which `/{stage}/{path}` and
    /// `/restapis/{id}/{stage}/_user_request_/{path}` serve that account's APIs in that region)
    /// name both.
    pub fn scoped(&self, account: Option<&str>, region: &str) -> Self {
        let root = self
            .gateway_url
            .split(local_gateway::SCOPE_PREFIX)
            .next()
            .unwrap_or_default();
        let named = account.unwrap_or(DEFAULT_ACCOUNT);
        Self {
            gateway_url: local_gateway::scoped_url(root, named, region),
            region: region.to_owned(),
            account: account.map(str::to_owned),
            ..self.clone()
        }
    }

    /// The environment that points the `aws` CLI, SDKs and our tests at the local cloud.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.front_url.clone()),
            ("AWS_REGION", self.region.clone()),
            // boto3 and the aws CLI v1 (botocore) read only this one: with AWS_REGION alone
            // they asked for a region.
            ("AWS_DEFAULT_REGION", self.region.clone()),
            // The local cloud accepts any credentials; these keep SDKs from searching for real
            // ones, and name the account (an access key id of 12 digits is the account id).
            (
                "AWS_ACCESS_KEY_ID",
                self.account.clone().unwrap_or_else(|| "local".into()),
            ),
            ("AWS_SECRET_ACCESS_KEY", "local".into()),
            ("LOCAL_REGISTRY_URL", self.registry_url.clone()),
            ("LOCAL_GATEWAY_URL", self.gateway_url.clone()),
        ]
    }
}

impl fmt::Display for Endpoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "front     {}  (AWS_ENDPOINT_URL)", self.front_url)?;
        writeln!(f, "moto      {}  (behind the front)", self.moto_url)?;
        writeln!(f, "registry  {}  (LOCAL_REGISTRY_URL)", self.registry_url)?;
        write!(
            f,
            "gateway   {}  (LOCAL_GATEWAY_URL/{{stage}}/{{path}})",
            self.gateway_url
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Endpoints;

    fn endpoints() -> Endpoints {
        Endpoints {
            front_url: "http://127.0.0.1:1".into(),
            moto_url: "http://127.0.0.1:2".into(),
            registry_url: "http://127.0.0.1:3".into(),
            gateway_url: "http://127.0.0.1:4".into(),
            region: "us-east-1".into(),
            account: None,
        }
    }

    fn env(endpoints: &Endpoints, name: &str) -> String {
        let env = endpoints.env();
        env.into_iter().find(|(n, _)| *n == name).unwrap().1
    }

    #[test]
    fn scoped_endpoints_sign_as_the_account_and_serve_its_stages_in_the_region() {
        let root = endpoints();
        assert_eq!(env(&root, "AWS_ACCESS_KEY_ID"), "local");
        let scoped = root.scoped(Some("111111111111"), "eu-west-1");
        assert_eq!(env(&scoped, "AWS_ACCESS_KEY_ID"), "111111111111");
        assert_eq!(env(&scoped, "AWS_DEFAULT_REGION"), "eu-west-1");
        let url = "http://127.0.0.1:4/.aws/111111111111/eu-west-1";
        assert_eq!(env(&scoped, "LOCAL_GATEWAY_URL"), url);
        // Scoped again, from scoped ones: the gateway's URL, not one inside another.
        let again = scoped.scoped(None, "us-east-1");
        assert_eq!(
            again.gateway_url,
            "http://127.0.0.1:4/.aws/123456789012/us-east-1"
        );
        assert_eq!(env(&again, "AWS_ACCESS_KEY_ID"), "local");
        let bgd_core::cloud::Target::Local {
            account, region, ..
        } = scoped.target()
        else {
            panic!("a local target");
        };
        assert_eq!(
            (account.as_deref(), region.as_str()),
            (Some("111111111111"), "eu-west-1")
        );
    }
}
