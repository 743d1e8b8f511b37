//! `reconcile` Lambda: run by an EventBridge schedule, asks the platforms about every
//! open order, refund and settlement whose callback has not come, within a time budget
//! well inside the function's timeout.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use minipay::App;
use serde_json::Value;
use std::time::{Duration, SystemTime};

/// Time kept back from the invocation's deadline: the run stops asking by then.
const MARGIN: Duration = Duration::from_secs(10);
/// Longest run, whatever the timeout: the next run carries on.
const MAX_RUN: Duration = Duration::from_secs(240);

#[tokio::main]
async fn main() -> Result<(), Error> {
    minipay::app::init_tracing();
    let app = App::from_env().await?;
    let app = &app;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let kind = event
            .payload
            .get("detail-type")
            .and_then(Value::as_str)
            .unwrap_or("direct invocation");
        lambda_runtime::tracing::info!(kind, "reconcile run");
        let left = event
            .context
            .deadline()
            .duration_since(SystemTime::now())
            .unwrap_or_default()
            .saturating_sub(MARGIN);
        let report = minipay::service::reconcile::run(app, left.min(MAX_RUN))
            .await
            .map_err(|err| Error::from(err.message))?;
        lambda_runtime::tracing::info!(?report, "reconcile run done");
        Ok::<_, Error>(report)
    }))
    .await
}
