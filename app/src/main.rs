//! Wiring only: logs as Lambda's advanced logging controls ask (`AWS_LAMBDA_LOG_FORMAT`,
//! `AWS_LAMBDA_LOG_LEVEL`), then serve the routes of `app` under the Lambda runtime.
use app::App;
use lambda_http::{Error, Request, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    app::logging::init();
    let app = &App::from_env();
    run(service_fn(move |request: Request| async move {
        let response = app.respond(&request);
        app::logging::request(&request, &response);
        Ok::<_, Error>(response)
    }))
    .await
}
