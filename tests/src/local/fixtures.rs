//! What a test puts in its local cloud and how it reads it back: images, functions and their
//! versions, REST APIs and their stages, the front's delays and the data plane's faults.
use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use bgd_aws::{OciRegistry, SdkCloud};
use bgd_core::{
    cloud::{
        Account, AliasTarget, Apis, FunctionSpec, Functions, ImageRef, Repository, RestApi,
        Settings, Stage, VersionState,
    },
    image::{Contents, Image, Registry},
};
use bgd_local::Endpoints;
use serde_json::Value;

use super::Running;
use crate::release_bootstrap;

/// An image of the release bootstrap pushed to a local cloud's registry (see
/// [`Running::push_app_image`]).
pub async fn push_app_image(
    endpoints: &Endpoints,
    repository: &Repository,
    variant: &str,
) -> ImageRef {
    let bootstrap = std::fs::read(release_bootstrap()).unwrap();
    push_image(endpoints, repository, &bootstrap, variant).await
}

/// An image whose `/bootstrap` is `bootstrap`, pushed and tagged `tag`.
pub async fn push_image(
    endpoints: &Endpoints,
    repository: &Repository,
    bootstrap: &[u8],
    tag: &str,
) -> ImageRef {
    let image = Image::assemble(
        &Contents {
            bootstrap,
            ca_bundle: tag.as_bytes(),
        },
        "x86_64",
        "2026-01-01T00:00:00Z",
        0,
    )
    .unwrap();
    let registry = OciRegistry::new(&endpoints.registry_url, None).unwrap();
    let digest = registry
        .push(&repository.name, &image, &[tag])
        .await
        .unwrap();
    repository.image(&digest)
}

/// A function with two published versions of two images that greet differently, alias
/// `green` → 1, and a REST API of the same name whose stage `green` invokes that alias.
pub struct Deployed {
    pub function: String,
    pub api: RestApi,
    pub images: [ImageRef; 2],
}

pub fn settings(greeting: &str) -> Settings {
    Settings {
        environment: BTreeMap::from([("GREETING".to_owned(), greeting.to_owned().into())]),
        memory_mb: 128,
        timeout: Duration::from_secs(10),
    }
}

pub async fn deploy_two_versions(local: &Running, name: &str) -> Deployed {
    let cloud = &local.cloud;
    let function = name.to_owned();
    let repository = cloud.ensure_repository(&function).await.unwrap();
    let first = local.push_app_image(&repository, "first").await;
    let second = local.push_app_image(&repository, "second").await;
    assert_ne!(first.digest, second.digest);
    let function = create_function(cloud, &function, &first).await;
    let v1 = cloud
        .publish_version(&function, first.digest_hex(), "one")
        .await
        .unwrap();
    cloud
        .update_function_code(&function, &second, "x86_64")
        .await
        .unwrap();
    ready(cloud, &function, "$LATEST").await;
    cloud
        .update_function_configuration(&function, &settings("two"))
        .await
        .unwrap();
    ready(cloud, &function, "$LATEST").await;
    let v2 = cloud
        .publish_version(&function, second.digest_hex(), "two")
        .await
        .unwrap();
    assert_eq!((v1.version.as_str(), v2.version.as_str()), ("1", "2"));
    ready(cloud, &function, "1").await;
    ready(cloud, &function, "2").await;
    cloud
        .create_alias(&function, "green", &AliasTarget::version("1"), "")
        .await
        .unwrap();
    let api = api_with_stage(local, &function, "green").await;
    Deployed {
        function,
        api,
        images: [first, second],
    }
}

/// Waits until `qualifier` of `function` is Active with no update in progress, as the
/// pipeline does: the local cloud, like Lambda, keeps new functions, updates and versions
/// Pending or InProgress for a moment.
pub async fn ready(cloud: &SdkCloud, function: &str, qualifier: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = cloud.get_version(function, qualifier).await.unwrap();
        if found.state == VersionState::Active
            && found.last_update_status.as_deref() != Some("InProgress")
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{qualifier} of {function} is still {} / {:?}",
            found.state,
            found.last_update_status
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The role a test function named `name` runs as (`NAME-role`, with its logs policy).
pub async fn function_role(cloud: &SdkCloud, name: &str) -> String {
    let policy = bgd_core::config::logs_policy("us-east-1", "123456789012", name);
    let role = format!("{name}-role");
    cloud.ensure_function_role(&role, &policy).await.unwrap()
}

/// A new image function, Active (CreateFunction retried while its new role cannot be
/// assumed yet, as on AWS).
pub async fn create_function(cloud: &SdkCloud, name: &str, image: &ImageRef) -> String {
    let role_arn = function_role(cloud, name).await;
    let spec = FunctionSpec {
        name: name.to_owned(),
        role_arn,
        image: image.clone(),
        architecture: "x86_64".into(),
        settings: settings("one"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let function = loop {
        match cloud.create_image_function(&spec).await {
            Ok(created) => break created.function_name,
            Err(e) if e.to_string().contains("cannot be assumed") && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("creating {name}: {e}"),
        }
    };
    ready(cloud, &function, "$LATEST").await;
    function
}

/// A REST API named after `function` with `ANY /` and `ANY /{proxy+}` on it, and a stage whose `alias` variable is `alias`.
pub async fn api_with_stage(local: &Running, function: &str, alias: &str) -> RestApi {
    let cloud = &local.cloud;
    let arn = cloud
        .get_version(function, "$LATEST")
        .await
        .unwrap()
        .function_arn;
    let api = cloud.create_rest_api(function).await.unwrap();
    cloud.put_lambda_proxy_routes(&api, &arn).await.unwrap();
    let deployment_id = cloud.create_deployment(&api.id, "test").await.unwrap();
    cloud
        .create_stage(
            &api.id,
            &Stage {
                name: alias.to_owned(),
                deployment_id,
                variables: BTreeMap::from([("alias".to_owned(), alias.to_owned())]),
                description: String::new(),
            },
        )
        .await
        .unwrap();
    served(local, &api, alias).await;
    api
}

/// Waits until the local API Gateway serves `stage` (a new stage propagates first, as on AWS).
pub async fn served(local: &Running, api: &RestApi, stage: &str) {
    let url = format!(
        "{}{}/{}/us-east-1/{}/{stage}",
        local.endpoints.front_url,
        bgd_local::front::STAGES_PATH,
        bgd_local::DEFAULT_ACCOUNT,
        api.id
    );
    for _ in 0..100 {
        if reqwest::get(&url).await.unwrap().status() == 200 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("stage {stage} of {} never propagated", api.id);
}

/// A stage of `api` at the gateway, by the API's id (tests use an API each).
pub fn stage_url(local: &Running, api: &RestApi, stage: &str, path: &str) -> String {
    local.url(&format!(
        "/restapis/{}/{stage}/_user_request_{path}",
        api.id
    ))
}

/// The `/version` self-report through the gateway; panics unless it is a 200.
pub async fn version(http: &reqwest::Client, url: &str) -> Value {
    let response = http.get(url).send().await.unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, 200, "{url}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// The idle instances' pids, as the gateway reports them.
pub async fn idle_instances(http: &reqwest::Client, local: &Running) -> Vec<u32> {
    let health: Value = http
        .get(local.url("/.local/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    health["idle_instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pid| pid.as_u64().unwrap() as u32)
        .collect()
}

/// Sets the delays of the local cloud whose front answers at `front_url` (tests lengthen or
/// shorten Lambda's and API Gateway's asynchronous work).
pub async fn set_delays(front_url: &str, delays: &bgd_local::front::Delays) {
    bgd_local::front::set_delays(front_url, delays)
        .await
        .unwrap();
}

/// Makes the local data plane fail `share` of the invocations of `version` through `alias`
/// (0 stops it), as AWS FIS's `aws:lambda:invocation-error` does.
pub async fn inject_errors(
    local: &Running,
    function: &str,
    alias: &str,
    version: &str,
    share: f64,
) {
    let fault = serde_json::json!({
        "function": function, "qualifier": alias, "version": version, "share": share,
    });
    let status = bgd_tls::client()
        .post(local.url(bgd_local::FAULTS_PATH))
        .json(&fault)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 204);
}
