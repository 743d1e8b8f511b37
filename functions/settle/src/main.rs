//! `settle` Lambda: configuration and clients are built once per cold start; each
//! invocation goes straight to the shared route.

use lambda_http::{Error, Request, run, service_fn};
use minipay::http::Answer;
use minipay::{App, Kit};

#[tokio::main]
async fn main() -> Result<(), Error> {
    minipay::app::init_tracing();
    let app = App::from_env(Kit::DOUYIN_SETTLEMENT).await?;
    let app = &app;
    run(service_fn(move |req: Request| async move {
        Ok::<_, Error>(Answer(minipay::routes::settle(app, req).await))
    }))
    .await
}
