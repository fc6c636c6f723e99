//! A bare lambda_http hello world: the yardstick `cargo xtask bench` measures the app's cold
//! start against, built with the same profile and target.
use lambda_http::{Body, Error, Request, Response, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(|_: Request| async {
        Ok::<_, Error>(Response::new(Body::from("hello")))
    }))
    .await
}
