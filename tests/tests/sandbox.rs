//! The local data plane runs each image the way Lambda does: code that only works on a host
//! passes with `local up --unsandboxed` (the data plane as it was: a host process, as root,
//! with the host's files and memory) and fails in the sandbox with the error Lambda reports.
//! The functions are the `misbehave` fixture (tests/fixtures), one image each.
use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use bgd_core::{
    cloud::{Account, AliasTarget, Functions, Settings},
    setup,
};
use bgd_local::{
    architecture::Architecture,
    runtime::{Init, Instance, Isolation, Spec, Unpacked},
    sandbox::Sandbox,
};
use e2e::{
    local::{Running, api_with_stage, create_function, stage_url, unique},
    misbehave, misbehave_path,
};

const MUSL: &str = "x86_64-unknown-linux-musl";
const GLIBC: &str = "x86_64-unknown-linux-gnu";

/// A host-only function: which build of the fixture, its environment, memory and timeout.
struct HostOnly {
    name: &'static str,
    target: &'static str,
    environment: Vec<(&'static str, String)>,
    memory_mb: u32,
    timeout: Duration,
}

fn host_only(name: &'static str, target: &'static str) -> HostOnly {
    HostOnly {
        name,
        target,
        environment: Vec::new(),
        memory_mb: 128,
        timeout: Duration::from_secs(10),
    }
}

fn env(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
}

/// Deploys `function` (alias `live` → $LATEST, a stage `live`) and returns its URL.
async fn deploy(local: &Running, function: &HostOnly) -> (String, String) {
    let name = unique(function.name);
    let cloud = &local.cloud;
    let repository = cloud.ensure_repository(&name).await.unwrap();
    let image = local
        .push_image(&repository, &misbehave(function.target), function.name)
        .await;
    let name = create_function(&local.cloud, &name, &image).await;
    let settings = Settings {
        environment: function
            .environment
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone().into()))
            .collect::<BTreeMap<_, _>>(),
        memory_mb: function.memory_mb,
        timeout: function.timeout,
    };
    cloud
        .update_function_configuration(&name, &settings)
        .await
        .unwrap();
    cloud
        .create_alias(&name, "live", &AliasTarget::version("$LATEST"), "")
        .await
        .unwrap();
    let api = api_with_stage(local, &name, "live").await;
    (stage_url(local, &api, "live", "/"), name)
}

/// Status and body of a GET.
async fn get(url: &str) -> (u16, String) {
    let response = reqwest::get(url).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn cases() -> [(HostOnly, &'static str); 4] {
    [
        // Scratch images have no libc: Lambda cannot exec a glibc-linked bootstrap.
        (
            host_only("glibc", GLIBC),
            "Runtime.InvalidEntrypoint: fork/exec /bootstrap: no such file or directory",
        ),
        (
            HostOnly {
                environment: env(&[("MISBEHAVE", "write-outside-tmp")]),
                ..host_only("writes", MUSL)
            },
            "Read-only file system",
        ),
        (
            HostOnly {
                environment: env(&[("MISBEHAVE", "read-host-file")]),
                ..host_only("reads", MUSL)
            },
            "reading /etc/passwd: No such file or directory",
        ),
        (
            HostOnly {
                environment: env(&[("MISBEHAVE", "allocate"), ("ALLOCATE_MB", "256")]),
                ..host_only("hoards", MUSL)
            },
            "Runtime exited with error: signal: killed",
        ),
    ]
}

#[tokio::test]
async fn host_only_functions_pass_unsandboxed_and_fail_in_the_sandbox_as_on_lambda() {
    let (sandboxed, unsandboxed) = tokio::join!(Running::up(), Running::up_unsandboxed());
    for (function, lambda_error) in cases() {
        let (url, _) = deploy(&unsandboxed, &function).await;
        let (status, body) = get(&url).await;
        assert_eq!(status, 200, "{} unsandboxed: {body}", function.name);

        let (url, name) = deploy(&sandboxed, &function).await;
        let (status, body) = get(&url).await;
        assert_eq!(status, 502, "{} in the sandbox: {body}", function.name);
        assert_eq!(body, r#"{"message":"Internal server error"}"#);
        // Lambda's error, where Lambda puts it: the function's log group, or the invoke's
        // error (the gateway's log, for API Gateway hides it from the client).
        let logs = sandboxed.log(&format!("functions/{name}.log")) + &sandboxed.log("gateway.log");
        assert!(
            logs.contains(lambda_error),
            "{}: no {lambda_error:?} in\n{logs}",
            function.name
        );
    }
    let unsandboxed_log = unsandboxed.log("gateway.log");
    let request_lines: Vec<_> = unsandboxed_log
        .lines()
        .filter(|l| l.contains(" -> "))
        .collect();
    assert_eq!(request_lines.len(), 4, "{unsandboxed_log}");
    for line in request_lines {
        assert!(line.contains("UNSANDBOXED"), "{line}");
    }
}

#[tokio::test]
async fn a_function_reaches_its_runtime_api_but_not_the_hosts_loopback() {
    let (sandboxed, unsandboxed) = tokio::join!(Running::up(), Running::up_unsandboxed());
    for (local, expected) in [(&unsandboxed, 200), (&sandboxed, 502)] {
        // moto, on the host's loopback: reachable from a host process only.
        let moto = local.endpoints.moto_url.trim_start_matches("http://");
        let function = HostOnly {
            environment: env(&[("MISBEHAVE", "connect"), ("CONNECT_TO", moto)]),
            ..host_only("connects", MUSL)
        };
        let (url, name) = deploy(local, &function).await;
        let (status, body) = get(&url).await;
        assert_eq!(status, expected, "{body}");
        if expected == 502 {
            let log = local.log(&format!("functions/{name}.log"));
            assert!(log.contains("Connection refused"), "{log}");
        }
    }
}

#[tokio::test]
async fn the_function_sees_only_the_environment_lambda_sets_and_its_own() {
    let local = Running::up().await;
    let function = HostOnly {
        environment: env(&[("MISBEHAVE", "env"), ("GREETING", "hi")]),
        ..host_only("env", MUSL)
    };
    let (url, _) = deploy(&local, &function).await;
    let (status, body) = get(&url).await;
    assert_eq!(status, 200, "{body}");
    let names: Vec<&str> = body.split(' ').collect();
    assert_eq!(
        names,
        [
            "AWS_ACCESS_KEY_ID",
            "AWS_DEFAULT_REGION",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            "AWS_LAMBDA_FUNCTION_NAME",
            "AWS_LAMBDA_FUNCTION_VERSION",
            "AWS_LAMBDA_INITIALIZATION_TYPE",
            "AWS_LAMBDA_LOG_GROUP_NAME",
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "AWS_LAMBDA_RUNTIME_API",
            "AWS_REGION",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "GREETING",
            "LAMBDA_RUNTIME_DIR",
            "LAMBDA_TASK_ROOT",
            "LANG",
            "LD_LIBRARY_PATH",
            "MISBEHAVE",
            "PATH",
            // bwrap exports the working directory it enters.
            "PWD",
            // The image config's Env (the CA bundle the image ships).
            "SSL_CERT_FILE",
            "TZ",
            "_HANDLER",
        ]
    );
}

#[tokio::test]
async fn a_sleep_past_the_timeout_is_lambdas_task_timed_out_and_a_7_mb_response_is_refused() {
    let local = Running::up().await;
    let sleeper = HostOnly {
        environment: env(&[("MISBEHAVE", "sleep"), ("SLEEP_SECONDS", "30")]),
        timeout: Duration::from_secs(2),
        ..host_only("sleeper", MUSL)
    };
    let large = HostOnly {
        environment: env(&[("MISBEHAVE", "large-response")]),
        ..host_only("large", MUSL)
    };
    let ((sleeper_url, sleeper), (large_url, _)) =
        tokio::join!(deploy(&local, &sleeper), deploy(&local, &large));

    let start = Instant::now();
    let (status, _) = get(&sleeper_url).await;
    assert_eq!(status, 502);
    assert!(
        (2..10).contains(&start.elapsed().as_secs()),
        "{:?}",
        start.elapsed()
    );
    let log = local.log(&format!("functions/{sleeper}.log"));
    assert!(log.contains("Task timed out after 2.00 seconds"), "{log}");

    // Refused when posted, not when the 10 s timeout passes.
    let start = Instant::now();
    let (status, _) = get(&large_url).await;
    assert_eq!(status, 502);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    let gateway = local.log("gateway.log");
    assert!(
        gateway.contains("Function.ResponseSizeTooLarge"),
        "{gateway}"
    );
}

#[tokio::test]
async fn an_init_past_its_limit_ends_the_instance_with_lambdas_init_report() {
    let dir = setup::target_dir().join("tmp").join(unique("slow-init"));
    let rootfs = dir.join("rootfs");
    let log = dir.join("function.log");
    let spec = Spec {
        image: Arc::new(Unpacked::with_bootstrap(&misbehave_path(MUSL), &rootfs).unwrap()),
        isolation: Isolation::Sandbox(Arc::new(Sandbox::detect().unwrap())),
        function_name: "slow".into(),
        version: "1".into(),
        invoked_function_arn: "arn:aws:lambda:us-east-1:123456789012:function:slow".into(),
        region: "us-east-1".into(),
        environment: vec![("INIT_SLEEP_SECONDS".into(), "30".into())],
        memory_mb: 128,
        timeout: Duration::from_secs(3),
        architecture: Architecture::X86_64,
        log_file: Some(log.clone()),
    };
    let mut slow = Instance::start(spec.clone()).await.unwrap();
    // The gateway passes Lambda's 10 s (`INIT_LIMIT`); a shorter one keeps the test quick.
    assert_eq!(slow.init(Duration::from_millis(500)).await, Init::TimedOut);
    let log_lines = std::fs::read_to_string(&log).unwrap();
    assert!(
        log_lines.contains("INIT_REPORT Init Duration: 500.00 ms Phase: init Status: timeout"),
        "{log_lines}"
    );

    let mut quick = Instance::start(Spec {
        environment: Vec::new(),
        ..spec
    })
    .await
    .unwrap();
    assert_eq!(quick.init(Duration::from_secs(10)).await, Init::Ready);
    std::fs::remove_dir_all(&dir).unwrap();
}
