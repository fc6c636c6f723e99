//! A Lambda as lambda_http's own examples write one, a `service_fn` with no router, inside the
//! deploy contract: proof that the contract needs nothing of axum.
use bgd_contract::Contract;
use lambda_http::{Body, Error, Request, Response, http::StatusCode, run, service_fn};

async fn handle(request: Request) -> Result<Response<Body>, Error> {
    let (status, text) = match request.uri().path() {
        "/" => (StatusCode::OK, "hello from a plain service_fn"),
        _ => (StatusCode::NOT_FOUND, "not found"),
    };
    Ok(Response::builder().status(status).body(text.into())?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    bgd_contract::logging::init();
    run(Contract::from_env().layer(service_fn(handle)).await?).await
}
