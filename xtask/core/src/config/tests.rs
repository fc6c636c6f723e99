//! deploy.toml's parsing and checks: the shipped file, and each refusal with its message.
use super::Config;

#[test]
fn the_shipped_deploy_toml_is_valid() {
    let config = Config::load().unwrap();
    assert!(
        config
            .app
            .required_env
            .iter()
            .all(|name| config.function.environment.contains_key(name))
    );
}

#[test]
fn an_unknown_key_is_named_with_its_line() {
    let err =
        Config::parse("[project]\nname = \"x\"\nregion = \"us-east-1\"\nnmae = 1\n[function]\n")
            .unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("nmae") && text.contains("line 4"), "{text}");
}

#[test]
fn environment_references_resolve_from_the_deploying_environment() {
    let text = "[project]\nname = \"x\"\nregion = \"us-east-1\"\n[function.environment]\nAA = \"${PATH}\"\nBB = \"plain\"\nCC = \"${BGD_SURELY_UNSET_VAR}\"\n";
    let config = Config::parse(text).unwrap();
    let err = config.resolved_environment().unwrap_err().to_string();
    assert!(
        err.contains("BGD_SURELY_UNSET_VAR") && err.contains("[function.environment] CC"),
        "{err}"
    );
    let mut config = config;
    config.function.environment.remove("CC");
    let env = config.resolved_environment().unwrap();
    assert_eq!(env["AA"], std::env::var("PATH").unwrap());
    assert_eq!(env["BB"], "plain");
    // Held as secrets: what reaches Lambda is the value, what a `{:?}` shows is not.
    let settings = config.settings().unwrap();
    assert_eq!(settings.environment["AA"].expose(), env["AA"]);
    let shown = format!("{settings:?} {:?}", settings.environment);
    assert!(
        !shown.contains(&env["AA"]) && !shown.contains("plain"),
        "{shown}"
    );
}

fn parse_err(text: &str) -> String {
    format!("{:#}", Config::parse(text).unwrap_err())
}

/// Every ARN, policy and URL is the `aws` partition's: GovCloud's and China's regions passed the
/// region check and then got `arn:aws:` policies and `amazonaws.com` URLs (aws-audit-3 N12).
#[test]
fn a_region_outside_the_aws_partition_is_refused_naming_its_partition() {
    for (region, partition) in [
        ("us-gov-west-1", "aws-us-gov"),
        ("cn-northwest-1", "aws-cn"),
        ("us-isob-east-1", "aws-iso-b"),
    ] {
        let err = parse_err(&format!(
            "[project]\nname = \"x\"\nregion = \"{region}\"\n[function]\n"
        ));
        assert!(
            err.contains(region) && err.contains(&format!("partition {partition}:")),
            "{err}"
        );
    }
}

#[test]
fn values_lambda_or_aws_would_refuse_are_refused_naming_the_key() {
    let base = "[project]\nname = \"x\"\nregion = \"us-east-1\"\n[function]\n";
    let mars = parse_err("[project]\nname = \"x\"\nregion = \"mars-1\"\n[function]\n");
    assert!(mars.contains("region = \"mars-1\""), "{mars}");
    for region in [
        "us-east-1",
        "ap-southeast-2",
        "il-central-1",
        "mx-central-1",
    ] {
        let text = format!("[project]\nname = \"x\"\nregion = \"{region}\"\n[function]\n");
        assert!(Config::parse(&text).is_ok(), "{region}");
    }
    let reserved = parse_err(&format!(
        "{base}[function.environment]\nAWS_REGION = \"x\"\n"
    ));
    assert!(
        reserved.contains("AWS_REGION") && reserved.contains("sets"),
        "{reserved}"
    );
    let bad_name = parse_err(&format!("{base}[function.environment]\n\"1X\" = \"x\"\n"));
    assert!(bad_name.contains("1X"), "{bad_name}");
    let status = parse_err(&format!("{base}[[smoke]]\npath = \"/\"\nstatus = 999\n"));
    assert!(
        status.contains("[[smoke]] number 1") && status.contains("999"),
        "{status}"
    );
    let method = parse_err(&format!(
        "{base}[[smoke]]\npath = \"/\"\nmethod = \"FETCH\"\n"
    ));
    assert!(method.contains("FETCH"), "{method}");
    let both = parse_err(&format!(
        "{base}[[smoke]]\npath = \"/\"\nbody = \"a\"\njson = {{ a = 1 }}\n"
    ));
    assert!(both.contains("not both"), "{both}");
}

#[test]
fn an_environment_over_lambdas_limit_is_refused_naming_no_value() {
    let secret = "s3cr3t".repeat(1000);
    let text = format!(
        "[project]\nname = \"x\"\nregion = \"us-east-1\"\n[function.environment]\nBIG = \"{secret}\"\nSMALL = \"y\"\n"
    );
    let err = format!(
        "{:#}",
        Config::parse(&text).unwrap().settings().unwrap_err()
    );
    assert!(
        err.contains("BIG (6000 bytes)") && err.contains("4096"),
        "{err}"
    );
    assert!(!err.contains("s3cr3t"), "{err}");
}

/// security-audit-3 #1: names and values add up to 3,009 bytes, under the limit, but Lambda
/// measures their JSON, where each `"` and newline of a PEM-like key takes two bytes: 4,510.
/// Adding up passed it, and Lambda's error then quoted the key, escaped.
#[test]
fn the_environment_is_measured_as_lambdas_json_not_as_names_plus_values() {
    let key = format!(
        "-----BEGIN KEY-----\\n{}\\n\\\"end\\\"",
        "\\\"k".repeat(1490)
    );
    let text = format!(
        "[project]\nname = \"x\"\nregion = \"us-east-1\"\n[function.environment]\nKEY = \"{key}\"\n"
    );
    let config = Config::parse(&text).unwrap();
    let resolved = config.resolved_environment().unwrap();
    let plain: usize = resolved.iter().map(|(k, v)| k.len() + v.len()).sum();
    assert!(plain < 4096, "{plain}");
    let err = format!("{:#}", config.settings().unwrap_err());
    assert!(err.contains("as JSON") && err.contains("KEY ("), "{err}");
}

#[test]
fn a_bad_architecture_says_what_lambda_runs() {
    let err = Config::parse(
        "[project]\nname = \"x\"\nregion = \"us-east-1\"\n[function]\narchitecture = \"mips\"\n",
    )
    .unwrap_err();
    assert!(err.to_string().contains("arm64"), "{err}");
}

#[test]
fn the_lambda_is_apps_bootstrap_unless_deploy_toml_names_another() {
    let base = "[project]\nname = \"x\"\nregion = \"us-east-1\"\n[function]\n";
    let config = Config::parse(base).unwrap();
    assert_eq!(
        (config.app.package.as_str(), config.app.binary.as_str()),
        ("app", "bootstrap")
    );
    let named = format!("{base}[app]\npackage = \"orders\"\nbinary = \"orders-api\"\n");
    let config = Config::parse(&named).unwrap();
    assert_eq!(
        (config.app.package.as_str(), config.app.binary.as_str()),
        ("orders", "orders-api")
    );
}

#[test]
fn the_contract_paths_default_and_a_path_that_is_none_is_refused() {
    let base = "[project]\nname = \"x\"\nregion = \"us-east-1\"\n[function.environment]\n";
    let defaults = Config::parse(base).unwrap().app.paths();
    assert_eq!(
        (defaults.version.as_str(), defaults.health.as_str()),
        ("/version", "/health")
    );
    let moved =
        format!("{base}[app]\nversion_path = \"/_bgd/version\"\nhealth_path = \"/_bgd/health\"\n");
    assert_eq!(
        Config::parse(&moved).unwrap().app.paths().version,
        "/_bgd/version"
    );
    for bad in ["version", "/", "/v?x=1", "/v/"] {
        let text = format!("{base}[app]\nversion_path = \"{bad}\"\n");
        let err = parse_err(&text);
        assert!(err.contains("version_path"), "{bad}: {err}");
    }
    let same = format!("{base}[app]\nversion_path = \"/x\"\nhealth_path = \"/x\"\n");
    assert!(parse_err(&same).contains("its own path"));
}

const TWO_ENVIRONMENTS: &str = r#"
[project]
name = "shop"
region = "us-east-1"
[function]
memory_mb = 256
[function.environment]
GREETING = "hello"
MODE = "shared"
[rollout]
strategy = "canary:10:5m"
bake = "1m"
[[smoke]]
path = "/"
[environments.staging]
account = "111111111111"
profile = "staging"
[environments.staging.function.environment]
MODE = "staging"
[environments.production]
account = "222222222222"
regions = ["eu-west-1", "us-east-1"]
role_arn = "arn:aws:iam::222222222222:role/bgd-deploy"
[environments.production.function]
memory_mb = 1024
[environments.production.rollout]
bake = "10m"
[[environments.production.smoke]]
path = "/orders"
"#;

#[test]
fn an_environment_in_a_region_is_deploy_toml_with_its_values_layered_over_the_shared_ones() {
    let config = Config::parse(TWO_ENVIRONMENTS).unwrap();
    assert_eq!(config.regions_of("staging").unwrap(), ["us-east-1"]);
    assert_eq!(
        config.regions_of("production").unwrap(),
        ["eu-west-1", "us-east-1"]
    );
    let staging = config.in_environment("staging", "us-east-1").unwrap();
    assert_eq!(staging.function.environment["MODE"], "staging");
    assert_eq!(staging.function.environment["GREETING"], "hello");
    assert_eq!(staging.rollout.bake, config.rollout.bake);
    let placement = staging.placement.unwrap();
    assert_eq!(
        (placement.account.as_str(), placement.profile.as_deref()),
        ("111111111111", Some("staging"))
    );
    let production = config.in_environment("production", "eu-west-1").unwrap();
    assert_eq!(production.project.region, "eu-west-1");
    assert_eq!(production.function.memory_mb, 1024);
    assert_eq!(production.function.environment["MODE"], "shared");
    // Key by key: production's bake, the shared strategy.
    assert_eq!(production.rollout.bake, std::time::Duration::from_secs(600));
    assert_eq!(production.rollout.strategy, config.rollout.strategy);
    let paths: Vec<&str> = production.smoke.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(paths, ["/", "/orders"]);
    assert!(production.environments.is_empty());
    // No environment: deploy.toml as written, placed nowhere.
    assert!(config.placement.is_none());
}

#[test]
fn a_mistake_in_an_environment_is_named_when_deploy_toml_is_read() {
    let with = |from: &str, to: &str| {
        assert!(TWO_ENVIRONMENTS.contains(from), "{from}");
        parse_err(&TWO_ENVIRONMENTS.replace(from, to))
    };
    let err = with("\"111111111111\"", "\"1111\"");
    assert!(
        err.contains("[environments.staging]") && err.contains("12 digits"),
        "{err}"
    );
    let err = with("memory_mb = 1024", "memory_mb = 64");
    assert!(
        err.contains("[environments.production] in eu-west-1") && err.contains("128 to 10240"),
        "{err}"
    );
    let err = with("\"eu-west-1\", ", "\"mars-1\", ");
    assert!(err.contains("mars-1"), "{err}");
    let err = with("role/bgd-deploy", "role/");
    assert!(err.contains("role_arn"), "{err}");
    let err = with(":222222222222:role", ":333333333333:role");
    assert!(err.contains("a role of the environment's account"), "{err}");
    let err = with(
        "profile = \"staging\"",
        "profile = \"s\"\nrole_arn = \"arn:aws:iam::111111111111:role/x\"",
    );
    assert!(err.contains("profile and role_arn both set"), "{err}");
    // [app] is baked into the image: an environment cannot change it.
    let err = with(
        "[environments.staging.function.environment]",
        "[environments.staging.app]\npackage = \"other\"\n[environments.staging.function.environment]",
    );
    assert!(err.contains("app"), "{err}");
    // Production moved into staging's account: one stack name in one account and region.
    let in_staging_account = |name: &str| {
        TWO_ENVIRONMENTS
            .replace(
                "\"222222222222\"",
                &format!("\"111111111111\"\nname = \"{name}\""),
            )
            .replace(":222222222222:", ":111111111111:")
    };
    let err = parse_err(&in_staging_account("shop"));
    assert!(
        err.contains("both stack \"shop\" in account 111111111111 us-east-1"),
        "{err}"
    );
    Config::parse(&in_staging_account("shop-prod")).unwrap();
}

#[test]
fn an_unknown_environment_is_refused_naming_those_there_are() {
    let config = Config::parse(TWO_ENVIRONMENTS).unwrap();
    let err = format!(
        "{:#}",
        config.in_environment("prod", "us-east-1").unwrap_err()
    );
    assert!(
        err.contains("--env prod") && err.contains("production, staging"),
        "{err}"
    );
}
