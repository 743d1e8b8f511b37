//! `events` Lambda: the table's stream in, merchant events out (EventBridge and the
//! webhook, first attempt at once), and every minute, from its schedule, the webhooks
//! due again. One handler tells the two triggers apart.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use minipay::domain::time::now_secs;
use minipay::merchant::Notifier;
use serde_json::Value;
use std::time::{Duration, SystemTime};

/// Time kept back from the invocation's deadline: the sweep stops posting by then.
const MARGIN: Duration = Duration::from_secs(10);
/// Longest sweep, whatever the timeout (and when there is no usable deadline:
/// `cargo lambda watch` sends one in 1970): the next sweep carries on.
const MAX_SWEEP: Duration = Duration::from_secs(40);

fn budget(deadline: SystemTime, now: SystemTime) -> Duration {
    deadline
        .duration_since(now)
        .map_or(MAX_SWEEP, |left| left.saturating_sub(MARGIN).min(MAX_SWEEP))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    minipay::app::init_tracing();
    let notifier = Notifier::from_env().await?;
    let notifier = &notifier;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let left = budget(event.context.deadline(), SystemTime::now());
        minipay::service::events::handle(notifier, event.payload, now_secs(), left)
            .await
            .map_err(Error::from)
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_stops_short_of_the_deadline() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let secs = Duration::from_secs;
        assert_eq!(budget(now + secs(30), now), secs(20));
        assert_eq!(budget(now + secs(900), now), MAX_SWEEP);
        assert_eq!(budget(now + secs(5), now), Duration::ZERO);
        // cargo lambda watch's constant deadline, in 1970.
        assert_eq!(budget(SystemTime::UNIX_EPOCH + secs(600), now), MAX_SWEEP);
    }
}
