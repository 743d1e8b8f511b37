//! A trade refund finishing: the money went back or could not, then the `refund`
//! callback (douyin-trade.md §6) tells the backend.

use super::callback::{self, Kind};
use super::configured;
use super::refunds::TradeRefund;
use crate::clock::now_millis;
use crate::delivery::Delivery;
use crate::douyin::{CallbackOptions, TransferStatus};
use crate::error::SandboxError;
use crate::state::{State, lock};
use serde::Serialize;

/// The `msg` of a refund callback, fields in the order of the platform's table.
#[derive(Serialize)]
struct RefundMsg<'a> {
    app_id: &'a str,
    order_id: &'a str,
    out_refund_no: &'a str,
    refund_id: &'a str,
    status: &'a str,
    refund_total_amount: i64,
    event_time: i64,
    message: &'a str,
    cp_extra: &'a str,
    is_all_settled: bool,
    refund_type: i64,
}

pub fn refund_msg(app_id: &str, refund: &TradeRefund) -> String {
    let msg = RefundMsg {
        app_id,
        order_id: &refund.order_id,
        out_refund_no: &refund.out_refund_no,
        refund_id: &refund.refund_id,
        status: refund.status.as_str(),
        refund_total_amount: refund.refund_total_amount,
        event_time: refund.refund_at.unwrap_or_default(),
        message: refund.message(),
        cp_extra: &refund.cp_extra,
        is_all_settled: false,
        refund_type: refund.origin.refund_type(),
    };
    serde_json::to_string(&msg).expect("plain fields serialize")
}

/// Finishes the refund (SUCCESS or FAIL, once) and sends the callback to the refund's
/// `notify_url`, else its order's; a repeat with the same outcome only resends it.
pub async fn finish(
    state: &State,
    refund_id: &str,
    success: bool,
    options: CallbackOptions,
) -> Result<Vec<Delivery>, SandboxError> {
    let (_, keys) = configured(state)?;
    let (refund, url) = {
        let mut trade = lock(&state.trade);
        let current = trade
            .refunds
            .get(refund_id)
            .ok_or_else(|| SandboxError::UnknownRefund(refund_id.to_owned()))?;
        let order_url = trade
            .orders
            .get(&current.out_order_no)
            .and_then(|o| o.notify_url.as_deref());
        let stored = current.notify_url.as_deref().or(order_url);
        let url = options.target(stored, &state.config, &format!("refund {refund_id}"))?;
        let outcome = TransferStatus::outcome(success);
        (trade.refunds.finish(refund_id, outcome, now_millis())?, url)
    };
    let msg = refund_msg(&state.config.app_id, &refund);
    Ok(callback::send(&state.http, keys, &url, Kind::Refund, &msg, &options).await)
}
