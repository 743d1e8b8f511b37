//! `push` Lambda: the table's stream in, order-center pushes out, and the records that
//! failed reported back so that only those are retried.

use aws_lambda_events::event::dynamodb::Event;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use minipay::{App, Kit};

#[tokio::main]
async fn main() -> Result<(), Error> {
    minipay::app::init_tracing();
    let app = App::from_env(Kit::ACCOUNTS).await?;
    let app = &app;
    run(service_fn(move |event: LambdaEvent<Event>| async move {
        Ok::<_, Error>(minipay::service::push::push_batch(app, event.payload).await)
    }))
    .await
}
