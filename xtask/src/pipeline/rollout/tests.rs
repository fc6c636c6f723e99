use std::{collections::BTreeMap, time::Duration};

use tokio::time::Instant;

use super::Ctx;
use crate::{
    cloud::{Alias, AliasTarget, guards},
    config::Config,
    progress::Progress,
    verify::Prober,
};

#[tokio::test]
async fn a_shift_step_stops_the_rollout_when_green_moved_since_its_last_write_smithy_mock() {
    let ctx = Ctx {
        cloud: guards::green_moved_by_someone_else(),
        config: Config::load().unwrap(),
        account: "123456789012".into(),
        local_gateway: None,
        function_log: None,
        progress: Progress::default(),
        prober: Prober::default(),
        deadline: Instant::now() + Duration::from_secs(60),
        green_attempt: Default::default(),
        traffic: None,
    };
    let green = Alias {
        name: "green".into(),
        target: AliasTarget::version("6"),
        description: String::new(),
        revision_id: Some("returned-by-the-last-write".into()),
    };
    let split = AliasTarget {
        version: "6".into(),
        additional_weights: BTreeMap::from([("7".to_owned(), 0.1)]),
    };
    let err = ctx.guarded_green(&green, &split, None).await.unwrap_err();
    assert!(
        err.to_string().contains("the rollout stops here"),
        "{err:#}"
    );
}
