//! The real release `bootstrap` under our Lambda Runtime API on loopback: the process the local
//! data plane runs per published version.
use std::{sync::Arc, time::Duration};

use bgd_core::setup;
use bgd_local::{
    architecture::Architecture,
    runtime::{Instance, Isolation, Outcome, Spec, Unpacked},
    sandbox::Sandbox,
};
use e2e::{event, local::unique, release_bootstrap};
use serde_json::Value;

/// The release bootstrap as its image unpacks, run in Lambda's sandbox as the gateway runs it.
fn spec(version: &str, qualifier: &str) -> Spec {
    let rootfs = setup::target_dir()
        .join("tmp")
        .join(unique("bootstrap-rootfs"));
    Spec {
        image: Arc::new(Unpacked::with_bootstrap(&release_bootstrap(), &rootfs).unwrap()),
        isolation: Isolation::Sandbox(Arc::new(Sandbox::detect().unwrap())),
        function_name: "bgd".into(),
        version: version.into(),
        invoked_function_arn: format!(
            "arn:aws:lambda:us-east-1:123456789012:function:bgd:{qualifier}"
        ),
        region: "us-east-1".into(),
        environment: vec![("GREETING".into(), "hello from the runtime test".into())],
        memory_mb: 128,
        timeout: Duration::from_secs(5),
        architecture: Architecture::X86_64,
        log_file: None,
    }
}

/// The proxy response the function posted, as JSON.
fn proxy_response(outcome: Outcome) -> Value {
    match outcome {
        Outcome::Response(body) => serde_json::from_slice(&body).expect("proxy response is JSON"),
        other => panic!("expected a response, got {other:?}"),
    }
}

#[tokio::test]
async fn bootstrap_reports_version_alias_stage_and_build_end_to_end() {
    let mut instance = Instance::start(spec("5", "green")).await.unwrap();
    let response = proxy_response(instance.invoke(event("version").into()).await);
    assert_eq!(response["statusCode"], 200);
    assert_eq!(response["multiValueHeaders"]["x-app-version"][0], "5");
    assert_eq!(response["multiValueHeaders"]["x-app-alias"][0], "green");
    let report: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(report["function"], "bgd");
    assert_eq!(report["version"], "5");
    assert_eq!(report["alias"], "green");
    assert_eq!(report["stage"], "green");
    assert_eq!(report["build"]["git_sha"].as_str().unwrap().len(), 40);

    // The same warm process answers the next request too.
    let response = proxy_response(instance.invoke(event("root").into()).await);
    assert_eq!(response["statusCode"], 200);
    assert!(
        response["body"]
            .as_str()
            .unwrap()
            .contains("hello from the runtime test")
    );
    instance.stop().await;
}

#[tokio::test]
async fn an_event_lambda_http_cannot_parse_is_an_invocation_error_and_the_process_keeps_serving() {
    let mut instance = Instance::start(spec("2", "blue")).await.unwrap();
    let outcome = instance.invoke(event("not-an-apigw-event").into()).await;
    assert!(
        matches!(outcome, Outcome::FunctionError(_)),
        "got {outcome:?}"
    );
    let response = proxy_response(instance.invoke(event("health").into()).await);
    assert_eq!(response["statusCode"], 200);
    instance.stop().await;
}

#[tokio::test]
async fn a_killed_process_is_reported_as_crashed() {
    let mut instance = Instance::start(spec("1", "green")).await.unwrap();
    proxy_response(instance.invoke(event("health").into()).await);
    // The instance's process is bwrap's; the function runs below it, and bwrap's death reaches
    // it only later (`--die-with-parent`): kill the whole tree at once, as the OOM killer would
    // the function itself.
    e2e::process::kill_tree(&process_tree(instance.pid().unwrap()), libc::SIGKILL);
    let outcome = instance.invoke(event("health").into()).await;
    assert!(matches!(outcome, Outcome::Crashed(_)), "got {outcome:?}");
}

#[tokio::test]
async fn a_bootstrap_built_for_the_other_architecture_fails_as_on_lambda() {
    // An x86_64 bootstrap on an arm64 function: Lambda's fork/exec fails, it is not emulated.
    let spec = Spec {
        architecture: Architecture::Arm64,
        ..spec("1", "green")
    };
    let error = Instance::start(spec).await.err().expect("refused");
    assert!(
        format!("{error:#}")
            .contains("Runtime.InvalidEntrypoint: fork/exec /bootstrap: exec format error"),
        "{error:#}"
    );
}

/// `root` and every process descended from it, from `/proc/PID/stat`'s parent field.
fn process_tree(root: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let ppid = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some((pid, ppid))
        })
        .collect();
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            parents
                .iter()
                .filter(|(_, p)| *p == parent)
                .map(|(c, _)| *c),
        );
        i += 1;
    }
    tree
}
