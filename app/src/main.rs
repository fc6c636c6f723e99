//! Wiring only: JSON logs, then serve the routes of `app` under the Lambda runtime.
use app::App;
use lambda_http::{Error, Request, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    app::logging::init();
    let app: &'static App = Box::leak(Box::new(App::from_env()));
    run(service_fn(move |request: Request| async move {
        let response = app.respond(&request);
        app::logging::request(&request, &response);
        Ok::<_, Error>(response)
    }))
    .await
}
