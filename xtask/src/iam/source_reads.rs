//! What `deploy --from` really asks of the environment it promotes from: `promotion::take` run
//! against a source that answers its reads and records the IAM action of each call (any call it
//! has no answer for, a write among them, fails the test), held to what `iam-policy
//! --promotion-source` grants. `PROMOTION_SOURCE_READS` is declared beside the operations; this
//! is what keeps it true when `take` changes.
use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
};

use anyhow::Result;
use bgd_core::{
    cloud::{
        Account, Alias, AliasTarget, Apis, CloudResult, FunctionSpec, Functions, ImageRef,
        Operation, RegistryAccess, Repository, RestApi, Route, Settings, Stage, Version,
        VersionState,
    },
    facts::BuildFacts,
    image::{Contents, Image, Pull, Registry},
    ledger::{self, VersionRecord},
    pipeline::{Cloud, Ctx, promotion},
    probe::{Answer, Http, Prober, Request},
    setup,
};

use super::promotion_source_policy;

/// The IAM actions the source was asked for, in order.
type Calls = Arc<Mutex<Vec<&'static str>>>;

/// Staging as `take` finds it: green on version 7, verified, its image in the repository.
struct Source {
    calls: Calls,
    image: Image,
    version: Version,
    /// Green shares its requests with version 6 (a rollout under way there).
    split: bool,
    /// Blue verified version 7 (its verification tag is in the repository).
    verified: bool,
}

impl Source {
    fn called(&self, op: Operation) {
        if let Some(action) = op.iam_action() {
            self.calls.lock().unwrap().push(action);
        }
    }

    fn refuse<T>(&self, op: Operation) -> CloudResult<T> {
        panic!(
            "deploy --from asked the source for {op}: if it is a read it needs, add it to PROMOTION_SOURCE_READS"
        )
    }
}

impl Functions for Source {
    async fn create_image_function(&self, _: &FunctionSpec) -> CloudResult<Version> {
        self.refuse(Operation::CreateFunction)
    }
    async fn update_function_code(&self, _: &str, _: &ImageRef, _: &str) -> CloudResult<Version> {
        self.refuse(Operation::UpdateFunctionCode)
    }
    async fn update_function_configuration(&self, _: &str, _: &Settings) -> CloudResult<Version> {
        self.refuse(Operation::UpdateFunctionConfiguration)
    }
    async fn publish_version(&self, _: &str, _: &str, _: &str) -> CloudResult<Version> {
        self.refuse(Operation::PublishVersion)
    }
    async fn get_version(&self, _: &str, qualifier: &str) -> CloudResult<Version> {
        assert_eq!(qualifier, self.version.version);
        self.called(Operation::GetFunction);
        Ok(self.version.clone())
    }
    async fn get_alias(&self, _: &str, alias: &str) -> CloudResult<Alias> {
        assert_eq!(alias, "green");
        self.called(Operation::GetAlias);
        let mut target = AliasTarget::version(self.version.version.clone());
        if self.split {
            target.additional_weights.insert("6".into(), 0.1);
        }
        Ok(Alias {
            name: alias.into(),
            target,
            description: String::new(),
            revision_id: None,
        })
    }
    async fn create_alias(&self, _: &str, _: &str, _: &AliasTarget, _: &str) -> CloudResult<Alias> {
        self.refuse(Operation::CreateAlias)
    }
    async fn update_alias(
        &self,
        _: &str,
        _: &str,
        _: &AliasTarget,
        _: Option<&str>,
        _: Option<&str>,
    ) -> CloudResult<Alias> {
        self.refuse(Operation::UpdateAlias)
    }
    async fn list_versions(&self, _: &str) -> CloudResult<Vec<Version>> {
        self.refuse(Operation::ListVersionsByFunction)
    }
    async fn add_permission(&self, _: &str, _: &str, _: &str, _: &str) -> CloudResult<()> {
        self.refuse(Operation::AddPermission)
    }
    async fn delete_function(&self, _: &str) -> CloudResult<()> {
        self.refuse(Operation::DeleteFunction)
    }
    async fn permission_statements(&self, _: &str, _: &str) -> CloudResult<Vec<String>> {
        self.refuse(Operation::GetPolicy)
    }
}

impl Apis for Source {
    async fn find_rest_api(&self, _: &str) -> CloudResult<RestApi> {
        self.refuse(Operation::GetRestApis)
    }
    async fn create_rest_api(&self, _: &str) -> CloudResult<RestApi> {
        self.refuse(Operation::CreateRestApi)
    }
    async fn get_routes(&self, _: &str) -> CloudResult<Vec<Route>> {
        self.refuse(Operation::GetResources)
    }
    async fn put_lambda_proxy_routes(&self, _: &RestApi, _: &str) -> CloudResult<()> {
        self.refuse(Operation::PutIntegration)
    }
    async fn create_deployment(&self, _: &str, _: &str) -> CloudResult<String> {
        self.refuse(Operation::CreateDeployment)
    }
    async fn create_stage(&self, _: &str, _: &Stage) -> CloudResult<Stage> {
        self.refuse(Operation::CreateStage)
    }
    async fn get_stage(&self, _: &str, _: &str) -> CloudResult<Stage> {
        self.refuse(Operation::GetStage)
    }
    async fn delete_stage(&self, _: &str, _: &str) -> CloudResult<()> {
        self.refuse(Operation::DeleteStage)
    }
    async fn delete_rest_api(&self, _: &str) -> CloudResult<()> {
        self.refuse(Operation::DeleteRestApi)
    }
}

impl Account for Source {
    async fn account_id(&self) -> CloudResult<String> {
        self.called(Operation::GetCallerIdentity);
        Ok(ACCOUNT.into())
    }
    async fn ensure_repository(&self, _: &str) -> CloudResult<Repository> {
        self.refuse(Operation::CreateRepository)
    }
    async fn repository(&self, name: &str) -> CloudResult<Repository> {
        self.called(Operation::DescribeRepositories);
        Ok(Repository {
            name: name.into(),
            uri: format!("{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{name}"),
        })
    }
    async fn allow_lambda_pull(&self, _: &str, _: &str) -> CloudResult<()> {
        self.refuse(Operation::SetRepositoryPolicy)
    }
    async fn registry_access(&self) -> CloudResult<RegistryAccess> {
        self.called(Operation::GetAuthorizationToken);
        Ok(RegistryAccess {
            host: format!("{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"),
            plain_http: false,
            basic: None,
        })
    }
    async fn ensure_function_role(&self, _: &str, _: &str) -> CloudResult<String> {
        self.refuse(Operation::CreateRole)
    }
    async fn delete_repository(&self, _: &str) -> CloudResult<()> {
        self.refuse(Operation::DeleteRepository)
    }
    async fn delete_function_role(&self, _: &str) -> CloudResult<()> {
        self.refuse(Operation::DeleteRole)
    }
}

/// The source's registry over the distribution API, each request under the IAM action ECR
/// authorises it by (`PULL_ACTIONS`' source): a manifest is BatchGetImage, a blob
/// GetDownloadUrlForLayer.
struct SourceRegistry {
    calls: Calls,
    image: Image,
    /// The tag that records blue's verification of green's version there.
    verified: String,
}

impl Registry for SourceRegistry {
    async fn push(&self, _: &str, _: &Image, _: &[&str]) -> Result<String> {
        panic!("deploy --from pushed to the source")
    }
    async fn digest_of(&self, _: &str, digest_or_tag: &str) -> Result<Option<String>> {
        self.calls.lock().unwrap().push("ecr:BatchGetImage");
        let known = digest_or_tag == self.verified || digest_or_tag == self.image.digest();
        Ok(known.then(|| self.image.digest()))
    }
    async fn tag(&self, _: &str, _: &str, tag: &str) -> Result<()> {
        panic!("deploy --from tagged the source's image {tag}")
    }
}

impl Pull for SourceRegistry {
    async fn pull(&self, _: &str, digest: &str) -> Result<Image> {
        assert_eq!(digest, self.image.digest());
        let mut calls = self.calls.lock().unwrap();
        calls.push("ecr:BatchGetImage");
        // The config and the layer.
        calls.extend(["ecr:GetDownloadUrlForLayer"; 2]);
        Ok(self.image.clone())
    }
}

/// `take` probes nothing.
struct NoHttp;

impl Http for NoHttp {
    async fn send(&self, request: Request) -> Result<Answer, String> {
        panic!("deploy --from sent {} to the source", request.url)
    }
}

impl Cloud for Source {
    type Registry = SourceRegistry;
    type Http = NoHttp;

    fn registry_client(&self, _: RegistryAccess) -> Result<SourceRegistry> {
        let verified = match self.verified {
            true => ledger::verified_tag(7, &self.version.description),
            false => "no such tag".into(),
        };
        Ok(SourceRegistry {
            calls: self.calls.clone(),
            image: self.image.clone(),
            verified,
        })
    }
}

const ACCOUNT: &str = "111111111111";

/// Staging's context as `deploy --from` connects to it, with the calls it is asked.
fn staging(split: bool, verified: bool) -> (Ctx<Source>, Calls) {
    let staging = super::tests::environment("staging").remove(0);
    let built_at = "2026-12-07T12:00:00Z";
    let contents = Contents {
        bootstrap: b"#!/bin/true",
        ca_bundle: b"",
    };
    let image = Image::assemble(&contents, "x86_64", built_at, 1_796_644_800).unwrap();
    let facts = BuildFacts {
        git_sha: "0123456789abcdef0123456789abcdef01234567".into(),
        dirty: false,
        built_at: built_at.into(),
        commit_epoch: 1_796_644_800,
        build_id: None,
    };
    let record = VersionRecord::now(&facts, &image.digest(), None);
    let repository = staging.repository_name().to_owned();
    let version = Version {
        function_name: staging.function_name().into(),
        function_arn: staging.function_arn(ACCOUNT),
        version: "7".into(),
        code_sha256: image.digest().trim_start_matches("sha256:").into(),
        image: Some(ImageRef {
            registry: format!("{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"),
            repository,
            digest: image.digest(),
        }),
        settings: staging.settings().unwrap(),
        description: record.to_description(),
        state: VersionState::Active,
        architecture: "x86_64".into(),
        last_update_status: Some("Successful".into()),
        revision_id: None,
    };
    let calls = Calls::default();
    let source = Source {
        calls: calls.clone(),
        image,
        version,
        split,
        verified,
    };
    let ctx = Ctx {
        cloud: source,
        account: ACCOUNT.into(),
        local_gateway: None,
        function_log: None,
        progress: Default::default(),
        prober: Prober::new(NoHttp),
        deadline: tokio::time::Instant::now() + std::time::Duration::from_secs(60),
        credentials_expire: None,
        hand_off: false,
        green_writes: Default::default(),
        traffic: None,
        config: staging,
    };
    (ctx, calls)
}

#[tokio::test]
async fn deploy_from_asks_the_source_only_what_its_promotion_policy_grants() {
    let (ctx, calls) = staging(false, true);
    let staging = ctx.config.clone();
    let dir = setup::target_dir().join("tests-iam").join("promoted");
    let built = promotion::take(&ctx, &dir).await.unwrap();
    assert_eq!(built.digest, ctx.cloud.image.digest(), "the very image");

    let asked: BTreeSet<&str> = calls.lock().unwrap().iter().copied().collect();
    let policy = promotion_source_policy(std::slice::from_ref(&staging), ACCOUNT);
    let granted: BTreeSet<&str> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["Action"].as_array().unwrap())
        .map(|a| a.as_str().unwrap())
        .collect();
    // Everything it asks is granted, and nothing is granted that it does not ask.
    assert_eq!(asked, granted);
}

#[tokio::test]
async fn deploy_from_refuses_a_green_split_by_a_rollout_or_not_verified_there() {
    let dir = setup::target_dir().join("tests-iam").join("refused");
    let (split, _) = staging(true, true);
    let err = format!("{:#}", promotion::take(&split, &dir).await.unwrap_err());
    assert!(err.contains("green in staging is split"), "{err}");
    let (unverified, calls) = staging(false, false);
    let err = format!(
        "{:#}",
        promotion::take(&unverified, &dir).await.unwrap_err()
    );
    assert!(
        err.contains("green in staging serves version 7, which is not verified there"),
        "{err}"
    );
    // Refused before any image was read.
    assert!(
        !calls
            .lock()
            .unwrap()
            .contains(&"ecr:GetDownloadUrlForLayer")
    );
}
