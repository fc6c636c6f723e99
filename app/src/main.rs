//! Wiring only: logs as Lambda's advanced logging controls ask (`AWS_LAMBDA_LOG_FORMAT`,
//! `AWS_LAMBDA_LOG_LEVEL`), then serve the sample's routes inside the deploy contract.
use app::{Greeting, router};
use bgd_contract::Contract;
use lambda_http::{Error, run};

#[tokio::main]
async fn main() -> Result<(), Error> {
    bgd_contract::logging::init();
    let routes = router(Greeting::from_env());
    run(Contract::from_env().layer(routes).await?).await
}
