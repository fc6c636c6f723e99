use std::collections::BTreeMap;

use crate::{
    cloud::{Alias, AliasTarget},
    pipeline::green_moved_ctx,
};

#[tokio::test]
async fn a_shift_step_stops_the_rollout_when_green_moved_since_its_last_write_smithy_mock() {
    let ctx = green_moved_ctx();
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
