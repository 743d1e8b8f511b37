//! What WeChat Pay's `trade_state` says of a payment: the same states in v2 and v3.

use crate::domain::order::{Payment, PaymentOutcome};

/// The outcome of an order in `state` (`None`: WeChat has no such order); `expired`
/// once its pay deadline has passed, so that an order never paid ends as TIMEOUT;
/// `payment` reads the payment of a paid one.
pub fn outcome(state: Option<&str>, expired: bool, payment: impl FnOnce() -> Payment) -> PaymentOutcome {
    match state {
        // REFUND: paid, then (partly) refunded.
        Some("SUCCESS") | Some("REFUND") => PaymentOutcome::Paid(payment()),
        Some("CLOSED") | Some("REVOKED") => PaymentOutcome::Closed,
        Some("PAYERROR") => PaymentOutcome::Failed,
        // WeChat has no such order, and none can be paid any more.
        None if expired => PaymentOutcome::Timeout,
        // `time_expire` is no close: WeChat still takes payment until the order is
        // closed (wechat-v3-reconcile.md C.1).
        Some("NOTPAY") if expired => PaymentOutcome::Expired,
        _ => PaymentOutcome::Pending,
    }
}
