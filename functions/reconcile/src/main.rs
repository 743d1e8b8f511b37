//! `reconcile` Lambda: run by an EventBridge schedule, asks the platforms about every
//! open order, refund and settlement whose callback has not come, within a time budget
//! well inside the function's timeout.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use minipay::{App, Kit};
use serde_json::Value;
use std::time::{Duration, SystemTime};

/// Time kept back from the invocation's deadline: the run stops asking by then.
const MARGIN: Duration = Duration::from_secs(10);
/// Longest run, whatever the timeout: the next run carries on.
const MAX_RUN: Duration = Duration::from_secs(240);
/// A deadline this far behind the clock is no deadline: Lambda's is always ahead, but
/// `cargo lambda watch` (1.9.2) sends a constant `Lambda-Runtime-Deadline-Ms: 600000`, a
/// moment of 1970, which would leave every local run no time at all.
const NO_DEADLINE: Duration = Duration::from_secs(24 * 60 * 60);

/// How long this run may ask, from the invocation's deadline.
fn budget(deadline: SystemTime, now: SystemTime) -> Duration {
    match deadline.duration_since(now) {
        Ok(left) => left.saturating_sub(MARGIN).min(MAX_RUN),
        Err(behind) if behind.duration() >= NO_DEADLINE => MAX_RUN,
        Err(_) => Duration::ZERO,
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    minipay::app::init_tracing();
    let app = App::from_env(Kit::PAYMENTS).await?;
    let app = &app;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let kind = event
            .payload
            .get("detail-type")
            .and_then(Value::as_str)
            .unwrap_or("direct invocation");
        tracing::info!(kind, "reconcile run");
        let left = budget(event.context.deadline(), SystemTime::now());
        let report = minipay::service::reconcile::run(app, left)
            .await
            .map_err(|err| Error::from(err.message))?;
        tracing::info!(?report, "reconcile run done");
        Ok::<_, Error>(report)
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_stops_short_of_the_deadline_and_of_the_longest_run() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let secs = Duration::from_secs;
        assert_eq!(budget(now + secs(120), now), secs(110));
        assert_eq!(budget(now + secs(900), now), MAX_RUN);
        assert_eq!(budget(now + secs(5), now), Duration::ZERO);
        assert_eq!(budget(now - secs(1), now), Duration::ZERO, "a deadline just passed");
    }

    #[test]
    fn cargo_lambda_watchs_constant_deadline_is_no_deadline() {
        let watch = SystemTime::UNIX_EPOCH + Duration::from_millis(600_000);
        assert_eq!(budget(watch, SystemTime::now()), MAX_RUN);
    }
}
