//! Credentials and region as a user on AWS has them: a `credential_process` profile (and an
//! IAM Identity Center one) through the default chain, against the local cloud reached as AWS
//! is (`AWS_ENDPOINT_URL`), with deploy.toml's region winning over the profile's. One test in
//! its own binary: it sets the process environment the SDK reads.
use bgd_aws::SdkCloud;
use bgd_core::cloud::{Account, Target};
use e2e::local::Running;

#[tokio::test]
async fn a_credential_process_profile_works_and_deploy_toml_region_wins_over_the_profiles() {
    let local = Running::up().await;
    let dir = local.local.dir().join("aws");
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config");
    std::fs::write(
        &config,
        "[profile process]\nregion = eu-west-1\n\
         credential_process = echo '{\"Version\": 1, \"AccessKeyId\": \"process\", \"SecretAccessKey\": \"process\"}'\n\n\
         [profile sso]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = deployer\nregion = us-east-1\n\n\
         [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n",
    )
    .unwrap();
    // SAFETY: the only test of this binary; nothing else reads the environment meanwhile.
    unsafe {
        std::env::remove_var("AWS_ACCESS_KEY_ID");
        std::env::remove_var("AWS_SECRET_ACCESS_KEY");
        std::env::remove_var("AWS_REGION");
        std::env::set_var("AWS_CONFIG_FILE", &config);
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", dir.join("none"));
        std::env::set_var("AWS_ENDPOINT_URL", &local.endpoints.front_url);
        std::env::set_var("AWS_PROFILE", "process");
    }
    let cloud = SdkCloud::connect(Target::Aws {
        region: "us-east-1".into(),
        reach: Default::default(),
    })
    .await
    .unwrap();
    assert_eq!(
        cloud.region(),
        "us-east-1",
        "deploy.toml's region, not the profile's"
    );
    assert_eq!(cloud.account_id().await.unwrap(), "123456789012");
    // Created in deploy.toml's region (the profile's would hold it elsewhere).
    cloud.ensure_repository("by-process").await.unwrap();
    local.cloud.repository("by-process").await.unwrap();

    // IAM Identity Center: the configuration resolves; only the login is missing.
    unsafe { std::env::set_var("AWS_PROFILE", "sso") };
    let sso = SdkCloud::connect(Target::Aws {
        region: "us-east-1".into(),
        reach: Default::default(),
    })
    .await
    .unwrap();
    let err = format!("{:?}", sso.account_id().await.unwrap_err());
    assert!(
        !err.contains("feature"),
        "the sso feature is built in: {err}"
    );
    assert!(err.to_lowercase().contains("sso"), "{err}");
}
