//! Bad input to the tooling: each is a clear error (naming what fixes it), a non-zero exit,
//! and `status` shows green as it was.
use std::{path::Path, process::Output};

use bgd_local::{Component, LocalCloud};
use e2e::{
    local::xtask_binary,
    process::{kill, pid_of},
    stack::{Stack, images, path},
};

use super::{blue_stage_exists, green};

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_rollback_targets_are_refused_clearly_and_change_nothing() {
    let (image_a, image_b) = images();
    let stack = Stack::new("bad-rollback");
    let first = stack.ok(&["deploy", "--image", path(image_a)]).await;
    stack.ok(&["deploy", "--image", path(image_b)]).await;
    let cloud = stack.cloud().await;
    let before = green(&stack, &cloud).await;

    let cases: [(&str, i32, &str); 5] = [
        ("0", 1, "versions are numbered from 1"),
        ("-1", 2, "unexpected argument '-1'"),
        ("abc", 2, "invalid digit"),
        ("99999999999", 1, "is not published"),
        ("7", 1, "is not published"),
    ];
    for (to, code, says) in cases {
        let output = stack.xtask(&["rollback", "--to", to]).await;
        assert_eq!(output.status.code(), Some(code), "rollback --to {to}");
        assert!(
            stderr(&output).contains(says),
            "rollback --to {to}: {}",
            stderr(&output)
        );
    }

    // Version 1's image deleted from the registry: it cannot run again.
    let endpoints = LocalCloud::at(stack.local_dir()).endpoints().unwrap();
    let digest = first["digest"].as_str().unwrap();
    let deleted = bgd_tls::client()
        .delete(format!(
            "{}/v2/{}/manifests/{digest}",
            endpoints.registry_url, stack.name
        ))
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success(), "{deleted:?}");
    let output = stack.xtask(&["rollback", "--to", "1"]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("is gone from repository"),
        "{}",
        stderr(&output)
    );

    assert_eq!(
        green(&stack, &cloud).await,
        before,
        "a refused rollback moved green"
    );
    assert!(!blue_stage_exists(&stack, &cloud).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_or_incomplete_deploy_toml_names_the_key_and_line() {
    let stack = Stack::new("bad-toml");
    let cases = [
        (
            "[project]\nname = \"bad-toml\"\nregion = us-east-1\n",
            ["line 3", "region"],
        ),
        (
            "[project]\nname = \"bad-toml\"\n\n[function]\nmemory_mb = 128\n",
            ["line 1", "region"],
        ),
        (
            "[project]\nname = \"bad-toml\"\nregion = \"us-east-1\"\n[function]\nmemory_mb = \"lots\"\n",
            ["line 5", "memory_mb"],
        ),
    ];
    for (text, says) in cases {
        std::fs::write(&stack.deploy_toml, text).unwrap();
        let output = stack.xtask(&["status"]).await;
        assert_eq!(output.status.code(), Some(1), "{text}");
        for word in says {
            assert!(
                stderr(&output).contains(word),
                "{text}: {}",
                stderr(&output)
            );
        }
    }
}

/// Without `--local` and without credentials: no network (instance metadata off, the endpoint
/// a closed loopback port), and the error says how to fix it.
#[tokio::test(flavor = "multi_thread")]
async fn missing_credentials_say_how_to_provide_them() {
    let stack = Stack::new("no-credentials");
    let empty = stack.dir.join("empty-aws-file");
    std::fs::write(&empty, "").unwrap();
    let run = |region: bool| {
        let mut command = std::process::Command::new(xtask_binary());
        command.args(["status", "--timeout", "20"]);
        for (name, _) in std::env::vars().filter(|(k, _)| k.starts_with("AWS_")) {
            command.env_remove(name);
        }
        command
            .env("BGD_DEPLOY_TOML", &stack.deploy_toml)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", &empty)
            .env("AWS_SHARED_CREDENTIALS_FILE", &empty)
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1");
        if region {
            command.env("AWS_REGION", "us-east-1");
        }
        command.output().unwrap()
    };
    let output = run(true);
    assert_eq!(output.status.code(), Some(1));
    let why = stderr(&output);
    assert!(
        why.contains("no usable AWS credentials") && why.contains("AWS_PROFILE"),
        "{why}"
    );
    // Without AWS_REGION too: the region is deploy.toml's, so only credentials are missing.
    let output = run(false);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("no usable AWS credentials"),
        "{}",
        stderr(&output)
    );
}

/// SIGKILL every running component of the local cloud.
async fn kill_local_cloud(dir: &Path) {
    let status = LocalCloud::at(dir).status().await.unwrap();
    for pid in status.iter().filter_map(|s| s.pid) {
        kill(pid, libc::SIGKILL);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_verb_on_a_killed_local_cloud_restarts_it() {
    let (image_a, _) = images();
    let stack = Stack::new("cloud-down");
    stack.ok(&["deploy", "--image", path(image_a)]).await;
    kill_local_cloud(&stack.local_dir()).await;
    let output = stack.xtask(&["status"]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let why = stderr(&output);
    assert!(
        why.contains("local: started moto")
            && why.contains("local AWS state")
            && why.contains("is gone"),
        "{why}"
    );
    let up = stack.xtask(&["local", "status"]).await;
    assert!(up.status.success(), "every component answers again");
}

/// A failed deploy: exit 1, its error line names `says`, green exactly as before and no lock
/// left.
async fn deploy_fails_changing_nothing(
    stack: &Stack,
    image: &Path,
    env: &[(&str, &str)],
    says: &str,
) {
    let cloud = stack.cloud().await;
    let before = green(stack, &cloud).await;
    let output = stack
        .xtask_with(&["deploy", "--image", path(image)], env)
        .await;
    assert_eq!(output.status.code(), Some(1));
    // The error itself names it (the progress lines name every phase anyway).
    let error = stderr(&output)
        .lines()
        .find(|line| line.starts_with("error:"))
        .unwrap_or_default()
        .to_owned();
    assert!(error.contains(says), "{}", stderr(&output));
    let cloud = stack.cloud().await;
    assert_eq!(
        green(stack, &cloud).await,
        before,
        "a failed deploy moved green"
    );
    assert!(
        !blue_stage_exists(stack, &cloud).await,
        "the lock is released"
    );
    let status = stack.status().await;
    assert_eq!(
        status["aliases"][0]["version"].as_str().unwrap(),
        before.version
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_registry_that_refuses_the_push_fails_the_deploy_and_changes_nothing() {
    let (image_a, image_b) = images();
    let stack = Stack::new("push-refused");
    stack.ok(&["deploy", "--image", path(image_a)]).await;
    // The registry restarts read-only (Distribution's maintenance mode): uploads get 405.
    let local = LocalCloud::at(stack.local_dir());
    kill(pid_of(&local, Component::Registry).await, libc::SIGKILL);
    let read_only = [(
        "REGISTRY_STORAGE_MAINTENANCE_READONLY",
        r#"{"enabled":true}"#,
    )];
    deploy_fails_changing_nothing(&stack, image_b, &read_only, "pushing").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_whose_update_fails_fails_the_deploy_and_changes_nothing() {
    let (image_a, image_b) = images();
    let stack = Stack::new("update-fails");
    stack.ok(&["deploy", "--image", path(image_a)]).await;
    for operation in [
        "UpdateFunctionCode",
        "UpdateFunctionConfiguration",
        "PublishVersion",
    ] {
        let fault = [(bgd_core::hooks::FAIL_OPERATION, operation)];
        deploy_fails_changing_nothing(&stack, image_b, &fault, operation).await;
    }
}
