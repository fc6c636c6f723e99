//! CloudWatch alarms in a rollout, end to end: deploy.toml's `[rollout] alarms` are read with
//! the real SDK from the local cloud's CloudWatch. A missing alarm, or one in ALARM already,
//! stops a deploy before it writes anything; one that goes into ALARM during the canary puts
//! green back on the old version by itself (exit 7), naming the alarm.
use std::{collections::BTreeMap, time::Duration};

use bgd_aws::Operator;
use bgd_core::cloud::Functions;
use e2e::stack::{Stack, images, path};

use super::{blue_stage_exists, green};

const ALARM: &str = "canary-alarm-errors";

/// Makes the alarm if missing and sets its state, as an operator's alarm would change.
async fn set_alarm(stack: &Stack, state: &str) {
    let cloud = stack.cloud().await;
    cloud.set_alarm(&stack.name, ALARM, state).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_alarm_rolls_a_canary_back_and_a_missing_or_firing_one_stops_the_deploy_before_any_write()
 {
    let (image_a, image_b) = images();
    let stack = Stack::new("canary-alarm");
    let first = stack.ok(&["deploy", "--image", path(image_a)]).await;
    let old = first["version"].to_string();
    let text = std::fs::read_to_string(&stack.deploy_toml).unwrap();
    std::fs::write(
        &stack.deploy_toml,
        format!("{text}\n[rollout]\nalarms = [\"{ALARM}\"]\n"),
    )
    .unwrap();
    let cloud = stack.cloud().await;
    let before = green(&stack, &cloud).await;
    let deploy = [
        "deploy",
        "--image",
        path(image_b),
        "--strategy",
        "canary:20:30s",
    ];

    // Refused before the lock or any write: green as it was, no stage blue.
    let refused_untouched = async |reason: String| {
        let refused = stack.refused(&deploy).await;
        assert!(refused.contains(&reason), "{refused}");
        assert_eq!(green(&stack, &cloud).await, before);
        assert!(!blue_stage_exists(&stack, &cloud).await);
    };
    // No such alarm.
    refused_untouched(format!("no CloudWatch alarm \"{ALARM}\"")).await;
    // In ALARM already: this deploy would be rolled back whatever it ships.
    set_alarm(&stack, "ALARM").await;
    refused_untouched(format!("alarm {ALARM} is in ALARM already")).await;

    // OK at the start, ALARM once green is split: the canary is rolled back by itself.
    set_alarm(&stack, "OK").await;
    let alarm_during_the_canary = async {
        loop {
            let green = cloud.get_alias(&stack.name, "green").await.unwrap();
            if !green.target.additional_weights.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        set_alarm(&stack, "ALARM").await;
    };
    let (output, ()) = tokio::join!(stack.xtask(&deploy), alarm_during_the_canary);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(7), "{stderr}");
    assert!(
        stderr.contains(&format!("alarm {ALARM} is in ALARM")),
        "{stderr}"
    );
    let green_now = cloud.get_alias(&stack.name, "green").await.unwrap();
    assert_eq!(
        (
            green_now.target.version,
            green_now.target.additional_weights
        ),
        (old, BTreeMap::new()),
        "green is back on the old version alone"
    );
    assert!(!blue_stage_exists(&stack, &cloud).await);
}
