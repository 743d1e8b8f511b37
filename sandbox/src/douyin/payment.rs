//! A payer paying or failing: the state change on the platform, then the callbacks.

pub use super::callback::MAX_DELIVERIES;
use super::callback::{self, Delivery};
use super::orders::SandboxOrder;
use crate::clock::now_secs;
use crate::delivery::target;
use crate::error::SandboxError;
use crate::msg_style::MsgStyle;
use crate::state::{State, lock};
use serde::{Deserialize, Serialize};

/// How `pay` reports the payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PayOptions {
    /// How many copies of the callback to send at once (0: none, like a lost callback;
    /// no notify URL is needed then).
    pub deliveries: usize,
    /// Overrides `total_amount` in the callback only (the order keeps its amount).
    pub amount: Option<i64>,
    /// Sends a signature that does not verify.
    pub tamper_signature: bool,
    /// Overrides where the callback goes.
    pub notify_url: Option<String>,
    /// Also pays an order that had ended unpaid (TIMEOUT or FAIL): a payment that
    /// completes after the order ended, as real platforms sometimes take. Without it
    /// such an order is refused.
    pub late: bool,
    /// Writes every non-ASCII character of `msg` as a `\uXXXX` escape (see [`MsgStyle`]).
    pub escape_unicode: bool,
    /// Writes the keys of `msg` in reverse order.
    pub reorder_keys: bool,
}

impl Default for PayOptions {
    fn default() -> Self {
        PayOptions {
            deliveries: 1,
            amount: None,
            tamper_signature: false,
            notify_url: None,
            late: false,
            escape_unicode: false,
            reorder_keys: false,
        }
    }
}

/// Marks the order paid (or keeps it paid) and sends the payment callback.
pub async fn pay(state: &State, out_order_no: &str, options: PayOptions) -> Result<Vec<Delivery>, SandboxError> {
    let now = now_secs();
    let (order, url) = {
        let mut douyin = lock(&state.douyin);
        let current = douyin
            .orders
            .get(out_order_no, now)
            .ok_or_else(|| SandboxError::UnknownOrder(out_order_no.into()))?;
        let candidates = [options.notify_url.as_deref(), current.notify_url.as_deref()];
        let url = target(candidates, options.deliveries, &format!("order {out_order_no}"))?;
        (douyin.orders.mark_paid(out_order_no, now, options.late)?, url)
    };
    let style = MsgStyle {
        escape_unicode: options.escape_unicode,
        reorder_keys: options.reorder_keys,
    };
    let msg = style.write(&callback::payment_msg(&state.config.app_id, &order, options.amount));
    let token = &state.config.token;
    Ok(callback::deliver(
        &state.http,
        &url,
        token,
        "payment",
        &msg,
        options.deliveries,
        options.tamper_signature,
    )
    .await)
}

/// Marks the order failed; the platform sends no callback for failures.
pub fn fail(state: &State, out_order_no: &str) -> Result<SandboxOrder, SandboxError> {
    lock(&state.douyin).orders.mark_failed(out_order_no, now_secs())
}

/// Moves the paid order's payment `days` into the past.
pub fn age(state: &State, out_order_no: &str, days: i64) -> Result<SandboxOrder, SandboxError> {
    let secs = crate::settlement_rules::age_secs(days)?;
    lock(&state.douyin).orders.age(out_order_no, secs, now_secs())
}

/// Makes an unpaid order time out now.
pub fn expire(state: &State, out_order_no: &str) -> Result<SandboxOrder, SandboxError> {
    lock(&state.douyin).orders.expire(out_order_no, now_secs())
}
